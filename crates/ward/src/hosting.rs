//! Where a reported URL is hosted: the addresses its host resolved to when intake fetched it,
//! looked up in IP-to-country databases in the MaxMind DB format (`--geoip-db FILE`, given
//! once per database: GeoLite2 Country or DB-IP Lite Country for the country, GeoLite2 ASN
//! for the network), read with the maintained `maxminddb` crate. Each database adds what it
//! knows of an address; an address none knows keeps only itself.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use ward_store::HostingPlace;

/// The largest database read (GeoLite2 City, the largest of the common ones, is about
/// 70 MB; Country and ASN are a few MB).
const MAX_DATABASE_BYTES: u64 = 512 << 20;

/// The IP-to-country (and network) databases a node reads, held in memory.
#[derive(Default)]
pub struct HostingDatabases {
    databases: Vec<(PathBuf, maxminddb::Reader<Vec<u8>>)>,
}

impl std::fmt::Debug for HostingDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.databases.iter().map(|(path, _)| path))
            .finish()
    }
}

/// What a database says of an address (the fields GeoLite2's Country, ASN and City
/// databases and DB-IP's share; any other is ignored).
#[derive(Debug, Default, Deserialize)]
struct Record {
    country: Option<Country>,
    /// Where the network is registered: the country when the database gives no other.
    registered_country: Option<Country>,
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Country {
    iso_code: Option<String>,
}

impl HostingDatabases {
    /// Reads the databases at `paths`, each checked: a file that is not a MaxMind DB, or
    /// larger than 512 MiB, stops the start with the reason.
    pub fn open(paths: &[PathBuf]) -> anyhow::Result<HostingDatabases> {
        let mut databases = Vec::with_capacity(paths.len());
        for path in paths {
            databases.push((path.clone(), read(path)?));
        }
        Ok(HostingDatabases { databases })
    }

    /// How many databases are read.
    pub fn len(&self) -> usize {
        self.databases.len()
    }

    /// Where each of `addresses` is, as the databases say (in order, each address once).
    pub fn places(&self, addresses: &[IpAddr]) -> Vec<HostingPlace> {
        let mut places: Vec<HostingPlace> = Vec::with_capacity(addresses.len());
        for address in addresses {
            let text = address.to_string();
            if !places.iter().any(|p| p.address == text) {
                places.push(self.place(*address));
            }
        }
        places
    }

    /// Where `address` is: each database adds the fields it has that the ones before did
    /// not give. An address a database cannot hold (IPv6 in an IPv4 database) or does not
    /// list adds nothing.
    pub fn place(&self, address: IpAddr) -> HostingPlace {
        let mut place = HostingPlace {
            address: address.to_string(),
            country: None,
            asn: None,
            network: None,
        };
        for (path, reader) in &self.databases {
            let record: Record = match reader.lookup(address).and_then(|found| found.decode()) {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(error) => {
                    tracing::debug!(database = %path.display(), %address, %error, "no place for an address");
                    continue;
                }
            };
            let country = record
                .country
                .and_then(|c| c.iso_code)
                .or_else(|| record.registered_country.and_then(|c| c.iso_code))
                .filter(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
                .map(|code| code.to_ascii_uppercase());
            place.country = place.country.or(country);
            place.asn = place.asn.or(record.autonomous_system_number);
            place.network = place.network.or_else(|| {
                record
                    .autonomous_system_organization
                    .map(|name| name.chars().take(200).collect())
            });
        }
        place
    }
}

/// One database, read whole and checked.
fn read(path: &Path) -> anyhow::Result<maxminddb::Reader<Vec<u8>>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading the IP-to-country database {}", path.display()))?
        .len();
    if size > MAX_DATABASE_BYTES {
        bail!(
            "the IP-to-country database {} is {size} bytes (at most {MAX_DATABASE_BYTES})",
            path.display()
        );
    }
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the IP-to-country database {}", path.display()))?;
    maxminddb::Reader::from_source(bytes).with_context(|| {
        format!(
            "{} is not a MaxMind DB file (GeoLite2 or DB-IP Lite, .mmdb)",
            path.display()
        )
    })
}

#[cfg(test)]
pub(crate) mod mmdb_writer;

#[cfg(test)]
mod tests {
    use super::*;
    use mmdb_writer::{Network, database};

    fn write(dir: &Path, name: &str, networks: &[Network<'_>]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, database(networks)).unwrap();
        path
    }

    #[test]
    fn addresses_are_placed_by_every_database() {
        let dir = tempfile::tempdir().unwrap();
        let countries = write(
            dir.path(),
            "country.mmdb",
            &[
                Network {
                    address: "127.0.1.0".parse().unwrap(),
                    prefix: 24,
                    country: "be",
                    asn: None,
                },
                Network {
                    address: "127.0.2.0".parse().unwrap(),
                    prefix: 24,
                    country: "NL",
                    asn: None,
                },
                Network {
                    address: "2001:db8::".parse().unwrap(),
                    prefix: 32,
                    country: "FR",
                    asn: None,
                },
            ],
        );
        let networks = write(
            dir.path(),
            "asn.mmdb",
            &[Network {
                address: "127.0.2.0".parse().unwrap(),
                prefix: 23,
                country: "DE",
                asn: Some((64_500, "Example Hosting B.V.")),
            }],
        );
        let dbs = HostingDatabases::open(&[countries, networks]).unwrap();
        let cases: &[(&str, Option<&str>, Option<u32>)] = &[
            ("127.0.1.9", Some("BE"), None),
            ("127.0.2.200", Some("NL"), Some(64_500)),
            // Only the second database knows it: its country is taken.
            ("127.0.3.4", Some("DE"), Some(64_500)),
            ("127.0.4.1", None, None),
            ("2001:db8:1::5", Some("FR"), None),
            ("::1", None, None),
        ];
        for (address, country, asn) in cases {
            let place = dbs.place(address.parse().unwrap());
            assert_eq!(place.country.as_deref(), *country, "{address}");
            assert_eq!(place.asn, *asn, "{address}");
            assert_eq!(place.address, *address);
        }
        let place = dbs.place("127.0.2.1".parse().unwrap());
        assert_eq!(place.network.as_deref(), Some("Example Hosting B.V."));
        // Each address once, in order.
        let addresses: Vec<IpAddr> = ["127.0.2.1", "127.0.1.1", "127.0.2.1"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let places = dbs.places(&addresses);
        let countries: Vec<_> = places.iter().map(|p| p.country.as_deref()).collect();
        assert_eq!(countries, [Some("NL"), Some("BE")]);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not.mmdb");
        std::fs::write(&path, b"GeoLite2 is downloaded with an account").unwrap();
        let error = HostingDatabases::open(&[path]).unwrap_err();
        assert!(
            format!("{error:#}").contains("not a MaxMind DB file"),
            "{error:#}"
        );
        let error = HostingDatabases::open(&[dir.path().join("missing.mmdb")]).unwrap_err();
        assert!(format!("{error:#}").contains("missing.mmdb"), "{error:#}");
        assert_eq!(HostingDatabases::open(&[]).unwrap().len(), 0);
    }
}
