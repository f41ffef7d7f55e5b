//! Genesys Cloud regions: the API host (`api.<domain>`) and login host (`login.<domain>`) of each.

use std::fmt;

/// A Genesys Cloud region.
///
/// ```
/// use audit_core::genesys::Region;
///
/// let region = Region::find("mypurecloud.ie").unwrap();
/// assert_eq!(region.name, "eu-west-1");
/// assert_eq!(region.api_base_url(), "https://api.mypurecloud.ie");
/// assert_eq!(region.login_base_url(), "https://login.mypurecloud.ie");
/// assert_eq!(Region::find("us_west_2").unwrap().domain, "usw2.pure.cloud");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The AWS-style region name (`eu-west-1`).
    pub name: &'static str,
    /// Where it is.
    pub location: &'static str,
    /// The domain the hosts live under (`mypurecloud.ie`); the web app is `app.<domain>`.
    pub domain: &'static str,
}

impl Region {
    /// Every region, as the vendor's SDKs list them.
    ///
    /// ```
    /// use audit_core::genesys::Region;
    ///
    /// assert!(Region::ALL.iter().any(|region| region.domain == "mypurecloud.de"));
    /// for region in Region::ALL {
    ///     assert_eq!(Region::find(region.name), Some(*region));
    /// }
    /// ```
    pub const ALL: &'static [Region] = &[
        Region::new("us-east-1", "US East (Virginia)", "mypurecloud.com"),
        Region::new("us-east-2", "US East 2 (FedRAMP)", "use2.us-gov-pure.cloud"),
        Region::new("us-west-2", "US West (Oregon)", "usw2.pure.cloud"),
        Region::new("ca-central-1", "Canada (Central)", "cac1.pure.cloud"),
        Region::new("sa-east-1", "South America (São Paulo)", "sae1.pure.cloud"),
        Region::new("mx-central-1", "Mexico (Central)", "mxc1.pure.cloud"),
        Region::new("eu-west-1", "Europe (Ireland)", "mypurecloud.ie"),
        Region::new("eu-west-2", "Europe (London)", "euw2.pure.cloud"),
        Region::new("eu-central-1", "Europe (Frankfurt)", "mypurecloud.de"),
        Region::new("eu-central-2", "Europe (Zurich)", "euc2.pure.cloud"),
        Region::new("me-central-1", "Middle East (UAE)", "mec1.pure.cloud"),
        Region::new("ap-south-1", "Asia Pacific (Mumbai)", "aps1.pure.cloud"),
        Region::new("ap-northeast-1", "Asia Pacific (Tokyo)", "mypurecloud.jp"),
        Region::new("ap-northeast-2", "Asia Pacific (Seoul)", "apne2.pure.cloud"),
        Region::new("ap-northeast-3", "Asia Pacific (Osaka)", "apne3.pure.cloud"),
        Region::new(
            "ap-southeast-1",
            "Asia Pacific (Jakarta)",
            "apse1.pure.cloud",
        ),
        Region::new(
            "ap-southeast-2",
            "Asia Pacific (Sydney)",
            "mypurecloud.com.au",
        ),
        Region::new(
            "eusc-de-east-1",
            "EU Sovereign Cloud (Germany)",
            "edee1.eusc-pure.cloud",
        ),
    ];

    const fn new(name: &'static str, location: &'static str, domain: &'static str) -> Self {
        Region {
            name,
            location,
            domain,
        }
    }

    /// Finds a region by its name in either spelling (`eu-west-1`, `eu_west_1`), its domain
    /// (`mypurecloud.ie`), or one of its hosts (`api.mypurecloud.ie`, `app.mypurecloud.ie`).
    ///
    /// ```
    /// use audit_core::genesys::Region;
    ///
    /// let frankfurt = Region::find("eu-central-1").unwrap();
    /// assert_eq!(Region::find("eu_central_1"), Some(frankfurt));
    /// assert_eq!(Region::find("https://app.mypurecloud.de/"), Some(frankfurt));
    /// assert_eq!(Region::find("mars-1"), None);
    /// ```
    pub fn find(query: &str) -> Option<Region> {
        let query = query.trim().trim_end_matches('/').to_ascii_lowercase();
        let query = query
            .strip_prefix("https://")
            .unwrap_or(&query)
            .replace('_', "-");
        let domain = ["api.", "login.", "app."]
            .iter()
            .find_map(|prefix| query.strip_prefix(prefix))
            .unwrap_or(&query);
        Region::ALL
            .iter()
            .find(|r| r.name == query || r.domain == domain)
            .copied()
    }

    /// `https://api.<domain>`.
    ///
    /// ```
    /// use audit_core::genesys::Region;
    ///
    /// assert_eq!(Region::find("ap-southeast-2").unwrap().api_base_url(), "https://api.mypurecloud.com.au");
    /// ```
    pub fn api_base_url(&self) -> String {
        format!("https://api.{}", self.domain)
    }

    /// `https://login.<domain>`, where OAuth tokens come from.
    ///
    /// ```
    /// use audit_core::genesys::Region;
    ///
    /// assert_eq!(Region::find("us-east-1").unwrap().login_base_url(), "https://login.mypurecloud.com");
    /// ```
    pub fn login_base_url(&self) -> String {
        format!("https://login.{}", self.domain)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::Region;

    #[test]
    fn every_spelling_finds_the_region() {
        for query in [
            "eu-central-1",
            "eu_central_1",
            "EU-CENTRAL-1",
            "mypurecloud.de",
            "api.mypurecloud.de",
            "login.mypurecloud.de",
            "https://app.mypurecloud.de/",
        ] {
            assert_eq!(
                Region::find(query).map(|r| r.name),
                Some("eu-central-1"),
                "{query}"
            );
        }
    }

    #[test]
    fn unknown_regions_are_not_guessed() {
        for query in ["", "eu-west-9", "zendesk.com", "pure.cloud"] {
            assert_eq!(Region::find(query), None, "{query}");
        }
    }

    #[test]
    fn names_and_domains_are_unique() {
        let mut names: Vec<_> = Region::ALL.iter().map(|r| r.name).collect();
        let mut domains: Vec<_> = Region::ALL.iter().map(|r| r.domain).collect();
        names.sort_unstable();
        names.dedup();
        domains.sort_unstable();
        domains.dedup();
        assert_eq!(names.len(), Region::ALL.len());
        assert_eq!(domains.len(), Region::ALL.len());
    }
}
