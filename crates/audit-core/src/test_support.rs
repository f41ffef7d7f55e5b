//! What the unit tests against the simulator share.

use crate::zendesk::ZendeskClient;

/// A Zendesk client of the simulator's tenant `acme`, with its API token.
pub(crate) fn acme_zendesk(sim: &audit_sim::SimHandle) -> ZendeskClient {
    let acme = sim
        .tenant_credentials("acme")
        .expect("the simulator has acme");
    ZendeskClient::builder()
        .base_url(sim.zendesk_url())
        .tenant("acme")
        .api_token(acme.zendesk_email, acme.zendesk_api_token)
        .build()
        .expect("a client of the simulator")
}
