//! The course's localhost ports and the fixed NodePort that serves each where Services are
//! not LoadBalancers (kind): one table, read by templates (`node_port(8000)`), by the check
//! on every Service a lesson renders, and by the kind cluster configuration render writes
//! for such environments, whose `extraPortMappings` send each NodePort back to the course's
//! port on localhost. So a URL a walkthrough prints answers on kind as on Docker Desktop.

use serde_json::{Value, json};

use super::policy::{Rule, Violation};

/// `(localhost port, NodePort)`, by localhost port. NodePorts must lie in Kubernetes'
/// default range 30000-32767; each is the course's port with a recognisable prefix.
pub const NODE_PORTS: &[(u16, u16)] = &[
    (80, 30080),    // ingress-nginx, Istio's bookinfo gateway
    (443, 30443),   // ingress-nginx over TLS
    (3000, 30300),  // Grafana
    (5672, 30672),  // RabbitMQ AMQP
    (8000, 30800),  // probe-test-app
    (8001, 30801),  // the storage lesson's nginx
    (8082, 30882),  // the rollouts demo's active side (the course's 80, which bookinfo holds)
    (8083, 30883),  // the rollouts demo's preview side (the course's 81)
    (9090, 30909),  // Prometheus
    (15672, 31567), // RabbitMQ management UI
    (15692, 31569), // RabbitMQ Prometheus metrics
    (20001, 32001), // Kiali
];

/// The NodePort that serves localhost `port`, if the course uses that port.
pub fn node_port(port: u16) -> Option<u16> {
    NODE_PORTS.iter().find(|(p, _)| *p == port).map(|(_, n)| *n)
}

/// The `node_port(port)` template function: the fixed NodePort of a course port, an error
/// for a port the table does not hold (a Service on a random NodePort would not answer on
/// kind at the URL the walkthrough prints).
pub fn template_function() -> minijinja::Value {
    minijinja::Value::from_function(|port: u16| -> Result<u16, minijinja::Error> {
        node_port(port).ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!(
                    "port {port} has no fixed NodePort; the course's ports are {}",
                    known_ports()
                ),
            )
        })
    })
}

fn known_ports() -> String {
    NODE_PORTS
        .iter()
        .map(|(p, _)| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Service of type LoadBalancer or NodePort must pin each port's `nodePort` to the
/// table's, so the kind cluster's port mappings reach it.
pub fn check_service(object: &Value) -> Result<(), Violation> {
    if object["apiVersion"] != "v1" || object["kind"] != "Service" {
        return Ok(());
    }
    let kind = object["spec"]["type"].as_str().unwrap_or("ClusterIP");
    if kind != "LoadBalancer" && kind != "NodePort" {
        return Ok(());
    }
    let ports = object["spec"]["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (index, port) in ports.iter().enumerate() {
        let number = port["port"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
        let wanted = node_port(number);
        if wanted.is_none() || port["nodePort"].as_u64() != wanted.map(u64::from) {
            let rule = match wanted {
                Some(node_port) => Rule::NodePort {
                    kind: kind.to_owned(),
                    port: number,
                    node_port,
                },
                None => Rule::PortNotInTable {
                    port: number,
                    known: known_ports(),
                },
            };
            return Err(Violation::new(format!("spec.ports[{index}].nodePort"), rule));
        }
    }
    Ok(())
}

/// The kind cluster configuration of an environment whose Services are NodePorts: every
/// fixed NodePort mapped to its localhost port (`kind create cluster --config <file>`).
pub fn kind_cluster_config() -> Value {
    let mappings: Vec<Value> = NODE_PORTS
        .iter()
        .map(|(port, node)| json!({"containerPort": node, "hostPort": port, "listenAddress": "127.0.0.1", "protocol": "TCP"}))
        .collect();
    json!({
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "nodes": [{"role": "control-plane", "extraPortMappings": mappings}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_port_is_in_the_default_range_and_used_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (port, node) in NODE_PORTS {
            assert!((30000..=32767).contains(node), "{port} -> {node}");
            assert!(seen.insert(*node), "{node} twice");
        }
        assert!(NODE_PORTS.windows(2).all(|w| w[0].0 < w[1].0), "sorted by port");
    }

    #[test]
    fn refuses_an_exposed_service_on_a_random_node_port() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"type": "LoadBalancer", "ports": [{"port": 8000}]}});
        let violation = check_service(&service).unwrap_err();
        assert_eq!(violation.field, "spec.ports[0].nodePort");
        assert_eq!(
            violation.rule,
            Rule::NodePort {
                kind: "LoadBalancer".to_owned(),
                port: 8000,
                node_port: node_port(8000).unwrap()
            }
        );
    }

    #[test]
    fn accepts_a_pinned_service_and_ignores_cluster_ip_ones() {
        let pinned = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"type": "NodePort", "ports": [{"port": 9090, "nodePort": 30909}]}});
        assert!(check_service(&pinned).is_ok());
        let internal = json!({"apiVersion": "v1", "kind": "Service", "spec": {"ports": [{"port": 1234}]}});
        assert!(check_service(&internal).is_ok());
    }

    #[test]
    fn refuses_a_port_the_course_does_not_use() {
        let service = json!({"apiVersion": "v1", "kind": "Service",
            "spec": {"type": "LoadBalancer", "ports": [{"port": 1234, "nodePort": 31234}]}});
        assert_eq!(
            check_service(&service).unwrap_err().rule,
            Rule::PortNotInTable {
                port: 1234,
                known: known_ports()
            }
        );
    }
}
