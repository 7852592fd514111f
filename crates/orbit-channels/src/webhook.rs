//! Webhooks: a signed JSON POST to any allowed HTTP endpoint.
