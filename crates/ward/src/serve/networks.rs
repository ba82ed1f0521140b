//! The opt-in grant of a role to HMA requests that come without a key from named networks
//! (`ward serve --hma-network-role 10.20.0.0/16=platform@ORG`), for deployments that moved
//! from an HMA protected by its network alone and whose clients cannot send a key yet.
//!
//! Default: none. Each grant is a key of its own in the store (labelled `network
//! 10.20.0.0/16`, made at start and so in the audit log), so that what such requests do is
//! attributed to it and held to its role and organisation exactly as a key's requests are.
//! It applies to HMA's routes only (`/h`, `/m`, `/c`), to requests without an
//! `Authorization` header whose TCP peer is in the network; every such request is logged
//! and counted (`ward_network_role_requests_total`). A request with a key is the key's.
//! Revoking a grant's key ends the grant at the node's next start; removing the setting
//! ends it then too.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, anyhow};
use ward_store::{Actor, ApiKey, Role, Store};

/// An IP network: an address and how many of its leading bits name the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl FromStr for Network {
    type Err = anyhow::Error;

    /// `10.20.0.0/16`, `fd00::/8`, or an address alone (the whole address).
    fn from_str(text: &str) -> anyhow::Result<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .with_context(|| format!("{text:?} is not an IP network"))?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| anyhow!("{text:?}: a prefix is 0 to {bits}"))?,
        };
        let network = Network { address, prefix };
        if network.masked(address) != address {
            return Err(anyhow!(
                "{text:?} has bits set past its prefix (the network is {})",
                Network {
                    address: network.masked(address),
                    prefix
                }
            ));
        }
        Ok(network)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl Network {
    /// `address` with the bits past the prefix cleared (in this network's family).
    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u32::from(v4) & mask).to_be_bytes())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::from((u128::from(v6) & mask).to_be_bytes())
            }
        }
    }

    /// Whether `peer` is in the network (an IPv4 peer seen as an IPv4-mapped IPv6 address
    /// counts as itself).
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        peer.is_ipv4() == self.address.is_ipv4() && self.masked(peer) == self.address
    }
}

/// One grant: requests from `network` act with `role` for the organisation named `org`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkRole {
    pub network: Network,
    pub role: Role,
    pub org: String,
}

impl FromStr for NetworkRole {
    type Err = anyhow::Error;

    /// `NETWORK=ROLE@ORGANISATION`.
    fn from_str(text: &str) -> anyhow::Result<NetworkRole> {
        let usage = || anyhow!("{text:?}: give NETWORK=ROLE@ORGANISATION");
        let (network, grant) = text.split_once('=').ok_or_else(usage)?;
        let (role, org) = grant.split_once('@').ok_or_else(usage)?;
        let role = Role::from_str(role.trim()).map_err(|e| anyhow!("{text:?}: {e}"))?;
        if matches!(role, Role::Admin | Role::OrgAdmin) {
            return Err(anyhow!(
                "{text:?}: a network is never granted an administrator's role"
            ));
        }
        Ok(NetworkRole {
            network: network.parse()?,
            role,
            org: org.trim().to_owned(),
        })
    }
}

/// The grants of a node, with their keys, and the requests they let in.
#[derive(Debug, Default)]
pub struct NetworkKeys {
    grants: Vec<(Network, Arc<ApiKey>)>,
    pub requests: AtomicU64,
}

impl NetworkKeys {
    /// Each grant's key: the one made for it before (same label, role and organisation, not
    /// revoked), else a new one.
    pub async fn resolve(store: &impl Store, roles: &[NetworkRole]) -> anyhow::Result<NetworkKeys> {
        let mut grants = Vec::new();
        // Read once; a key made for one grant is found by a later grant of the same.
        let mut keys = if roles.is_empty() {
            Vec::new()
        } else {
            store.keys().await?
        };
        for grant in roles {
            let org = store
                .org_by_name(&grant.org)
                .await?
                .ok_or_else(|| anyhow!("--hma-network-role: no organisation {:?}", grant.org))?;
            let label = format!("network {}", grant.network);
            let existing = keys.iter().find(|k| {
                k.label == label
                    && k.role == grant.role
                    && k.org == org.id
                    && k.revoked_at.is_none()
            });
            let key = match existing {
                Some(key) => key.clone(),
                None => {
                    let actor = Actor::operator("ward serve --hma-network-role");
                    let made = store
                        .create_key(&actor, org.id, grant.role, &label)
                        .await?
                        .key;
                    keys.push(made.clone());
                    made
                }
            };
            tracing::warn!(
                network = %grant.network,
                role = grant.role.name(),
                org = %grant.org,
                key = key.id.0,
                "HMA requests without a key from this network act as this key"
            );
            grants.push((grant.network, Arc::new(key)));
        }
        Ok(NetworkKeys {
            grants,
            requests: AtomicU64::new(0),
        })
    }

    /// The key a keyless request from `peer` acts as, if a grant takes it in (counted and
    /// logged).
    pub fn key_for(&self, peer: IpAddr, path: &str) -> Option<Arc<ApiKey>> {
        let (network, key) = self.grants.iter().find(|(n, _)| n.contains(peer))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::info!(%peer, %network, key = key.id.0, path, "a keyless HMA request let in by its network");
        Some(Arc::clone(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_hold_their_addresses() {
        let cases = [
            ("10.20.0.0/16", "10.20.3.4", true),
            ("10.20.0.0/16", "10.21.0.1", false),
            ("10.20.0.0/16", "::ffff:10.20.9.9", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fe80::1", false),
            ("::/0", "::1", true),
        ];
        for (network, peer, inside) in cases {
            let network: Network = network.parse().unwrap();
            assert_eq!(
                network.contains(peer.parse().unwrap()),
                inside,
                "{network} {peer}"
            );
        }
        for bad in [
            "10.0.0.1/8",
            "10.0.0.0/33",
            "fd00::/129",
            "ten/8",
            "",
            "10.0.0.0/x",
        ] {
            assert!(bad.parse::<Network>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn grants_are_read_and_never_admin() {
        let grant: NetworkRole = "10.20.0.0/16=platform@Example Platform".parse().unwrap();
        assert_eq!(grant.role, Role::Platform);
        assert_eq!(grant.org, "Example Platform");
        assert_eq!(grant.network.to_string(), "10.20.0.0/16");
        for bad in [
            "10.20.0.0/16=admin@Hotline",
            "10.20.0.0/16=org_admin@Hotline",
            "10.20.0.0/16=platform",
            "10.20.0.0/16",
            "10.20.0.0/16=pilot@Org",
        ] {
            assert!(bad.parse::<NetworkRole>().is_err(), "{bad:?}");
        }
    }
}
