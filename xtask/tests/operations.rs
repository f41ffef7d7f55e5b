//! Review snapshots of each raw client's API surface: every generated operation with its
//! method, path, operationId, the wire names of its parameters (and their Rust setters) and
//! its responses. A change to a spec that changes the surface shows up here in review.

use xtask::codegen::prepared_document;
use xtask::operations::list_operations;
use xtask::spec::SPECS;

#[test]
fn operations_per_raw_crate() {
    let root = xtask::workspace_root();
    for api in &SPECS {
        let (document, _) = prepared_document(&root, api).unwrap();
        insta::assert_snapshot!(
            format!("{}_operations", api.vendor),
            list_operations(&document)
        );
    }
}

#[test]
fn every_operation_of_the_original_references_is_generated() {
    let root = xtask::workspace_root();
    let expected: [(&str, &[&str]); 2] = [
        (
            "zendesk",
            &[
                "ListTicketAudits",
                "ListAuditsForTicket",
                "ShowTicketAudit",
                "MakeTicketCommentPrivateFromAudits",
                "CountAuditsForTicket",
                "ListAuditLogs",
                "ShowAuditLog",
                "ExportAuditLogs",
                // Beyond the original references: OAuth tokens (client credentials, refresh).
                "CreateOauthToken",
                // Change capture (issue 17): every ticket update, archived tickets included.
                "IncrementalTicketEventExport",
            ],
        ),
        (
            "genesys",
            &[
                "getAuditsQueryRealtimeServicemapping",
                "getAuditsQueryServicemapping",
                "getAuditsQueryTransactionId",
                "getAuditsQueryTransactionIdResults",
                "postAuditsQuery",
                "postAuditsQueryRealtime",
                "postAuditsQueryRealtimeRelated",
                // Beyond the original references: the organisation, whose id names the tenant.
                "getOrganizationsMe",
            ],
        ),
    ];
    for (vendor, operation_ids) in expected {
        let api = SPECS.iter().find(|api| api.vendor == vendor).unwrap();
        let generated = std::fs::read_to_string(root.join(api.output_path)).unwrap();
        let (document, _) = prepared_document(&root, api).unwrap();
        let listing = list_operations(&document);
        for id in operation_ids {
            assert!(
                listing.contains(&format!("{id}: ")),
                "{id} missing from {}",
                api.spec_path
            );
            let method = xtask::rules::rust_identifier(id);
            assert!(
                generated.contains(&format!("pub fn {method}(")),
                "{method} missing from {}",
                api.output_path
            );
        }
        let operation_lines = listing
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with(' '))
            .count();
        assert_eq!(
            operation_lines,
            operation_ids.len(),
            "{vendor}: unexpected operations:\n{listing}"
        );
    }
}
