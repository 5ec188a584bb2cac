//! The six Entra service-activity metrics and the set of them one sign-in counts toward.

use serde::Serialize;

/// A service-activity metric, named after the Graph function that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    MfaSignInFailure,
    MfaSignInSuccess,
    ConditionalAccessBlockedSignIn,
    ConditionalAccessCompliantDevicesSignInSuccess,
    ConditionalAccessManagedDevicesSignInSuccess,
    SamlSignInSuccess,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::MfaSignInFailure,
        Metric::MfaSignInSuccess,
        Metric::ConditionalAccessBlockedSignIn,
        Metric::ConditionalAccessCompliantDevicesSignInSuccess,
        Metric::ConditionalAccessManagedDevicesSignInSuccess,
        Metric::SamlSignInSuccess,
    ];

    /// Stable small integer used as the storage key; never renumber.
    pub fn code(self) -> u8 {
        match self {
            Metric::MfaSignInFailure => 0,
            Metric::MfaSignInSuccess => 1,
            Metric::ConditionalAccessBlockedSignIn => 2,
            Metric::ConditionalAccessCompliantDevicesSignInSuccess => 3,
            Metric::ConditionalAccessManagedDevicesSignInSuccess => 4,
            Metric::SamlSignInSuccess => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }

    /// The Graph function name, e.g. `getMetricsForMfaSignInFailure`.
    pub fn function_name(self) -> &'static str {
        match self {
            Metric::MfaSignInFailure => "getMetricsForMfaSignInFailure",
            Metric::MfaSignInSuccess => "getMetricsForMfaSignInSuccess",
            Metric::ConditionalAccessBlockedSignIn => "getMetricsForConditionalAccessBlockedSignIn",
            Metric::ConditionalAccessCompliantDevicesSignInSuccess => {
                "getMetricsForConditionalAccessCompliantDevicesSignInSuccess"
            }
            Metric::ConditionalAccessManagedDevicesSignInSuccess => {
                "getMetricsForConditionalAccessManagedDevicesSignInSuccess"
            }
            Metric::SamlSignInSuccess => "getMetricsForSamlSignInSuccess",
        }
    }

    /// Matches a Graph function name. Graph resolves function names case-insensitively.
    pub fn from_function_name(name: &str) -> Option<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.function_name().eq_ignore_ascii_case(name))
    }
}

/// A set of metrics as a bitmask (bit = `Metric::code`); what a stored fact row carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct MetricSet(pub u8);

impl MetricSet {
    pub fn insert(&mut self, m: Metric) {
        self.0 |= 1 << m.code();
    }
    pub fn contains(self, m: Metric) -> bool {
        self.0 & (1 << m.code()) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Metric> {
        Metric::ALL.into_iter().filter(move |m| self.contains(*m))
    }
}

impl FromIterator<Metric> for MetricSet {
    fn from_iter<T: IntoIterator<Item = Metric>>(iter: T) -> Self {
        let mut s = MetricSet::default();
        for m in iter {
            s.insert(m);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_names_match_case_insensitively() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_code(m.code()), Some(m));
            assert_eq!(
                Metric::from_function_name(&m.function_name().to_lowercase()),
                Some(m)
            );
        }
        assert_eq!(Metric::from_function_name("getMetricsForNothing"), None);
    }

    #[test]
    fn sets_hold_what_was_inserted() {
        let s: MetricSet = [Metric::MfaSignInFailure, Metric::SamlSignInSuccess]
            .into_iter()
            .collect();
        assert!(s.contains(Metric::MfaSignInFailure));
        assert!(!s.contains(Metric::MfaSignInSuccess));
        assert_eq!(s.iter().count(), 2);
    }
}
