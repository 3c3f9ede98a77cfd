//! What an API key may do: a set of scopes.

use serde::{Deserialize, Serialize};

/// One permission an API key can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// List and read the owner's links.
    #[serde(rename = "links:read")]
    LinksRead,
    /// Create, change and delete the owner's links.
    #[serde(rename = "links:write")]
    LinksWrite,
    /// Read click analytics of the owner's links.
    #[serde(rename = "stats:read")]
    StatsRead,
}

impl Scope {
    /// Every scope, in the order they are listed.
    pub const ALL: [Scope; 3] = [Scope::LinksRead, Scope::LinksWrite, Scope::StatsRead];

    fn bit(self) -> i64 {
        match self {
            Scope::LinksRead => 1,
            Scope::LinksWrite => 2,
            Scope::StatsRead => 4,
        }
    }

    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::LinksRead => "links:read",
            Scope::LinksWrite => "links:write",
            Scope::StatsRead => "stats:read",
        }
    }
}

/// A set of scopes, stored as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scopes(i64);

impl Scopes {
    /// Every scope: what a key gets when none are named.
    pub fn all() -> Scopes {
        Scopes::of(&Scope::ALL)
    }

    /// The set holding `scopes`.
    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |bits, s| bits | s.bit()))
    }

    /// The set stored as `bits`; bits that name no scope are dropped.
    pub fn from_bits(bits: i64) -> Scopes {
        Scopes(bits & Scopes::all().0)
    }

    /// The bit set, for the store.
    pub fn bits(self) -> i64 {
        self.0
    }

    /// Whether the set holds `scope`.
    pub fn has(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// The scopes in the set, in [`Scope::ALL`] order.
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.has(*s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_round_trip_through_bits() {
        for scopes in [
            vec![],
            vec![Scope::LinksRead],
            vec![Scope::StatsRead, Scope::LinksWrite],
            Scope::ALL.to_vec(),
        ] {
            let set = Scopes::of(&scopes);
            let mut sorted = scopes.clone();
            sorted.sort_by_key(|s| s.bit());
            assert_eq!(Scopes::from_bits(set.bits()).list(), sorted);
        }
        assert_eq!(Scopes::from_bits(-1), Scopes::all());
        assert!(!Scopes::of(&[Scope::LinksRead]).has(Scope::LinksWrite));
    }

    #[test]
    fn names_are_the_api_names() {
        for scope in Scope::ALL {
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(json, format!("\"{}\"", scope.as_str()));
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope);
        }
        assert!(serde_json::from_str::<Scope>("\"links:admin\"").is_err());
    }
}
