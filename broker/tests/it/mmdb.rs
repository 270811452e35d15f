//! A MaxMind DB file written by the test (the format's own spec: a binary search tree over the
//! address bits with 24-bit records, a data section, the metadata map), placing IPv4 networks in
//! countries, so the new-country rule runs against the real reader with data the test chose.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

fn control(kind: u8, size: usize) -> Vec<u8> {
    assert!(size < 29, "short values only");
    if kind <= 7 {
        vec![(kind << 5) | size as u8]
    } else {
        vec![size as u8, kind - 7]
    }
}

fn string(s: &str) -> Vec<u8> {
    let mut out = control(2, s.len());
    out.extend(s.as_bytes());
    out
}

fn uint(kind: u8, value: u64) -> Vec<u8> {
    let bytes: Vec<u8> = value.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    let mut out = control(kind, bytes.len());
    out.extend(bytes);
    out
}

fn map(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = control(7, entries.len());
    for (k, v) in entries {
        out.extend(string(k));
        out.extend(v);
    }
    out
}

/// The bytes of a Country database with each `(network, ISO code)` given, e.g. `("198.51.100.0/24", "DE")`.
pub fn country_db(networks: &[(&str, &str)]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut offsets = BTreeMap::new();
    for (_, iso) in networks {
        offsets.entry(iso.to_string()).or_insert_with(|| {
            let at = data.len();
            data.extend(map(&[("country", map(&[("iso_code", string(iso))]))]));
            at
        });
    }
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    for (cidr, iso) in networks {
        let (addr, len) = cidr.split_once('/').unwrap();
        let (bits, len) = (
            u32::from(addr.parse::<Ipv4Addr>().unwrap()),
            len.parse::<usize>().unwrap(),
        );
        let mut node = 0;
        for i in 0..len {
            let side = ((bits >> (31 - i)) & 1) as usize;
            if i == len - 1 {
                nodes[node][side] = Record::Data(offsets[*iso]);
            } else {
                node = match nodes[node][side] {
                    Record::Node(next) => next,
                    _ => {
                        nodes.push([Record::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][side] = Record::Node(next);
                        next
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut out = Vec::new();
    for node in &nodes {
        for record in node {
            let value = match *record {
                Record::Empty => count,
                Record::Node(n) => n,
                Record::Data(offset) => count + 16 + offset,
            };
            out.extend(&(value as u32).to_be_bytes()[1..]);
        }
    }
    out.extend([0u8; 16]);
    out.extend(data);
    out.extend(b"\xAB\xCD\xEFMaxMind.com");
    let mut languages = control(11, 1);
    languages.extend(string("en"));
    out.extend(map(&[
        ("node_count", uint(6, count as u64)),
        ("record_size", uint(5, 24)),
        ("ip_version", uint(5, 4)),
        ("database_type", string("Daypass-Test-Country")),
        ("languages", languages),
        ("binary_format_major_version", uint(5, 2)),
        ("binary_format_minor_version", uint(5, 0)),
        ("build_epoch", uint(9, 1_764_000_000)),
        (
            "description",
            map(&[("en", string("written by the Daypass tests"))]),
        ),
    ]));
    out
}

#[test]
fn the_real_reader_places_addresses_in_the_written_countries() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countries.mmdb");
    std::fs::write(
        &file,
        country_db(&[("198.51.100.0/24", "DE"), ("203.0.113.0/24", "BR")]),
    )
    .unwrap();
    let db = daypass_broker_core::CountryDb::open(&file).unwrap();
    assert_eq!(db.country("198.51.100.7".parse().unwrap()).as_deref(), Some("DE"));
    assert_eq!(
        db.country("203.0.113.200".parse().unwrap()).as_deref(),
        Some("BR")
    );
    assert_eq!(db.country("192.0.2.1".parse().unwrap()), None);
    let garbage = dir.path().join("garbage.mmdb");
    std::fs::write(&garbage, b"not a database").unwrap();
    assert!(daypass_broker_core::CountryDb::open(&garbage)
        .unwrap_err()
        .contains("is not a MaxMind DB file"));
}
