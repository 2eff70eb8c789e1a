//! A classroom environment's entry of `gitgen.yaml`, shared by the integration tests, the
//! end-to-end tier and the bench, so the contract they test is written once.

/// The entry of environment `classroom` whose learner clusters carry the label
/// `gitgen.io/classroom: <class>`, exposing Services as `service_type`.
pub fn classroom_environment(service_type: &str, class: &str) -> String {
    format!(
        "  classroom:
    service_type: {service_type}
    host: localhost
    sync: automated
    clusters:
      gitgen.io/classroom: {class}
"
    )
}
