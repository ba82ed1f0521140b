//! A small writer of MaxMind DB files, for tests that need an IP-to-country database with
//! known contents (the free ones cannot be downloaded here, and their contents change):
//! an IPv6 tree (IPv4 networks under `::/96`, as GeoLite2's), 32-bit records, and a data
//! section of maps with a country's ISO code and, optionally, an AS number and name, as
//! GeoLite2 Country and ASN give them. Written from the format's specification
//! (MaxMind DB File Format 2.0). Used by the tests of `hosting` and of intake.

use std::net::IpAddr;

/// One network of the database and what it says of it.
#[derive(Clone, Debug)]
pub struct Network<'a> {
    pub address: IpAddr,
    pub prefix: u8,
    pub country: &'a str,
    pub asn: Option<(u32, &'a str)>,
}

/// A record of the search tree: another node, nothing, or data at an offset.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Record {
    Node(u32),
    Empty,
    Data(u32),
}

/// The database's bytes.
pub fn database(networks: &[Network<'_>]) -> Vec<u8> {
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    let mut data = Vec::new();
    for network in networks {
        let offset = data.len() as u32;
        let mut entries: Vec<(&str, Value)> = vec![(
            "country",
            Value::Map(vec![("iso_code", Value::Text(network.country.to_owned()))]),
        )];
        if let Some((number, name)) = network.asn {
            entries.push(("autonomous_system_number", Value::U32(number)));
            entries.push((
                "autonomous_system_organization",
                Value::Text(name.to_owned()),
            ));
        }
        Value::Map(entries).write(&mut data);
        // The network's bits: an IPv4 network sits under ::/96.
        let (bits, length): (u128, u32) = match network.address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 96 + u32::from(network.prefix)),
            IpAddr::V6(v6) => (u128::from(v6), u32::from(network.prefix)),
        };
        let mut node = 0usize;
        for depth in 0..length {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == length {
                nodes[node][bit] = Record::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Record::Node(next) => next as usize,
                _ => {
                    nodes.push([Record::Empty; 2]);
                    let next = nodes.len() - 1;
                    nodes[node][bit] = Record::Node(next as u32);
                    next
                }
            };
        }
    }
    let count = nodes.len() as u32;
    let mut out = Vec::with_capacity(nodes.len() * 8 + 16 + data.len() + 256);
    for node in &nodes {
        for record in node {
            let value = match *record {
                Record::Node(n) => n,
                Record::Empty => count,
                Record::Data(offset) => count + 16 + offset,
            };
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    Value::Map(vec![
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(1_767_225_600)),
        ("database_type", Value::Text("Ward-Test-Country-ASN".into())),
        (
            "description",
            Value::Map(vec![("en", Value::Text("Ward's test networks".into()))]),
        ),
        ("ip_version", Value::U16(6)),
        ("languages", Value::Array(vec![Value::Text("en".into())])),
        ("node_count", Value::U32(count)),
        ("record_size", Value::U16(32)),
    ])
    .write(&mut out);
    out
}

/// A value of the data section.
enum Value<'a> {
    Text(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'a str, Value<'a>)>),
    Array(Vec<Value<'a>>),
}

impl Value<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Value::Text(text) => {
                control(out, 2, text.len());
                out.extend_from_slice(text.as_bytes());
            }
            Value::U16(n) => unsigned(out, 5, u64::from(*n)),
            Value::U32(n) => unsigned(out, 6, u64::from(*n)),
            Value::U64(n) => unsigned(out, 9, *n),
            Value::Map(entries) => {
                control(out, 7, entries.len());
                for (key, value) in entries {
                    Value::Text((*key).to_owned()).write(out);
                    value.write(out);
                }
            }
            Value::Array(items) => {
                control(out, 11, items.len());
                for item in items {
                    item.write(out);
                }
            }
        }
    }
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn unsigned(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// A field's control byte (type and size), with the extended type's byte and the size's
/// extra bytes when needed.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (first, extra): (u8, Vec<u8>) = match size {
        0..=28 => (size as u8, Vec::new()),
        29..=284 => (29, vec![(size - 29) as u8]),
        285..=65_820 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | first);
    } else {
        out.push(first);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}
