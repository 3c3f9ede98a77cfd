//! Countries from a MaxMind-format database (GeoLite2 or DB-IP Lite
//! `.mmdb`), when the operator sets `geoip_db`. Without one the country
//! dimension stays empty: nothing is guessed.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::{PathElement, Reader};

/// An opened country database.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl GeoIp {
    /// Opens and checks the database, so a wrong path fails at startup.
    pub fn open(path: &Path) -> Result<GeoIp, String> {
        let reader =
            Reader::open_readfile(path).map_err(|e| format!("geoip_db {}: {e}", path.display()))?;
        Ok(GeoIp { reader })
    }

    /// The ISO 3166-1 alpha-2 code of the address's country, if the
    /// database has one (the registered country when the location is not
    /// known, as for anycast ranges).
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip).ok()?;
        for field in ["country", "registered_country"] {
            let code: Option<String> = found
                .decode_path(&[PathElement::Key(field), PathElement::Key("iso_code")])
                .ok()
                .flatten();
            if let Some(code) = code.filter(|c| c.len() == 2) {
                return Some(code.to_ascii_uppercase());
            }
        }
        None
    }
}
