//! Probes of the running service as an attacker would make them: every route tried by
//! another tenant (`routes`, `tenants`), and every refusal path sent credentials in every
//! place one may travel (`refusals`).

pub mod refusals;
pub mod routes;
pub mod tenants;
