//! What helpdesk looks up: people and their devices by any name they give on the phone, and a
//! device's posture reports (the latest in plain words, the history behind it).

use super::{Broker, Caller, Missing, ServiceResult};
use crate::domain::directory::{Device, Person, Role};
use crate::store::{self, PostureRecord};

/// How many reports a device's page shows.
const HISTORY: i64 = 30;

/// A person found, with their devices.
#[derive(Debug, Clone)]
pub struct Found {
    pub person: Person,
    pub devices: Vec<Device>,
}

/// A device, its owner, and its posture reports, newest first.
#[derive(Debug, Clone)]
pub struct DeviceCard {
    pub device: Device,
    pub owner: Option<Person>,
    pub reports: Vec<PostureRecord>,
}

fn matches(p: &Person, devices: &[Device], words: &str) -> bool {
    let fields = [&p.id, &p.name, &p.email, &p.company];
    fields.iter().any(|f| f.to_lowercase().contains(words))
        || devices
            .iter()
            .any(|d| d.id.to_lowercase().contains(words) || d.name.to_lowercase().contains(words))
}

impl Broker {
    /// People whose id, name, email, company or device matches `query` (case-insensitive), staff only.
    pub async fn find_people(&self, caller: &Caller, query: &str) -> ServiceResult<Vec<Found>> {
        caller.person_with(&Role::STAFF)?;
        let words = query.trim().to_lowercase();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.store().read().await?;
        let mut found = Vec::new();
        for person in store::people(&mut conn).await? {
            let devices = store::devices_of(&mut conn, &person.id).await?;
            if matches(&person, &devices, &words) {
                found.push(Found { person, devices });
            }
        }
        Ok(found)
    }

    /// A device with its owner and posture history, staff only.
    pub async fn device_card(&self, caller: &Caller, id: &str) -> ServiceResult<DeviceCard> {
        caller.person_with(&Role::STAFF)?;
        let mut conn = self.store().read().await?;
        let device = store::device(&mut conn, id)
            .await?
            .ok_or_else(|| Missing::Device(id.to_string()))?;
        Ok(DeviceCard {
            owner: store::person(&mut conn, &device.person).await?,
            reports: store::posture_reports_of(&mut conn, id, HISTORY).await?,
            device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_found_by_any_of_their_names_or_devices() {
        let p = Person {
            id: "ana".into(),
            name: "Ana Lima".into(),
            email: "ana@acme.example".into(),
            company: "Acme".into(),
            roles: Default::default(),
            groups: Default::default(),
            contract_end: None,
            disabled: false,
            ticket_identities: Default::default(),
            step_up_demanded_by: None,
            entitlements_removed: Default::default(),
        };
        let d = Device {
            id: "ana-laptop".into(),
            person: "ana".into(),
            name: "ThinkPad".into(),
            wireguard_public_key: String::new(),
            tunnel_address: String::new(),
            revoked: false,
            report_public_key: None,
        };
        for words in ["lima", "acme", "ana@", "thinkpad", "laptop"] {
            assert!(matches(&p, std::slice::from_ref(&d), words), "{words}");
        }
        assert!(!matches(&p, &[d], "bob"));
    }
}
