//! Which country an IP address is in, from a MaxMind DB file IT provides (GeoLite2 or GeoIP2
//! Country, or any database with `country.iso_code`), for the new-country anomaly rule.

use std::net::IpAddr;
use std::path::Path;

pub struct CountryDb(maxminddb::Reader<Vec<u8>>);

impl std::fmt::Debug for CountryDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CountryDb({})", self.0.metadata().database_type)
    }
}

impl CountryDb {
    /// Opens the database at `path`, or says why it is not one.
    pub fn open(path: &Path) -> Result<CountryDb, String> {
        maxminddb::Reader::open_readfile(path)
            .map(CountryDb)
            .map_err(|e| {
                format!(
                    "{} is not a MaxMind DB file ({e}): point geoip_country_db at a GeoLite2-Country.mmdb",
                    path.display()
                )
            })
    }

    /// The ISO 3166 country code of `ip`, when the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.0.lookup(ip).ok()?;
        found
            .decode_path::<String>(&maxminddb::path!["country", "iso_code"])
            .ok()
            .flatten()
    }
}
