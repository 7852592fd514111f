//! RFM: recency, frequency and monetary value of each buyer, scored into quintiles
//! over the workspace's buyers, and the eight classic groups (RFM 八类客户).
//!
//! # Contract
//! - Only people with at least one order in the window are scored; the population is
//!   theirs, so scores are relative: a score of 5 means "among the best fifth".
//! - A score is the quintile of the value's **mid-rank percentile**: with `L` values
//!   worse than it and `E` equal to it among `n`, `p = (L + E/2) / n` and the score is
//!   `min(5, ⌊5p⌋ + 1)`. Equal values get equal scores; with distinct values each
//!   score holds a fifth of the people (as near as `n` allows); if everyone ties, all
//!   score 3.
//! - Recency is better when smaller (fewer days since the last order).
//! - A dimension is **high** when its score is at least the population's average
//!   score for it, else **low**; the three highs and lows name the group.

use super::Label;
use serde::{Deserialize, Serialize};

/// What is known of one buyer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmFacts {
    /// Whole days since the last order.
    pub recency_days: u32,
    /// Orders in the window.
    pub frequency: u32,
    /// Total amount of those orders.
    pub monetary: f64,
}

/// One buyer's scores and group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RfmScore {
    /// Recency score, 1–5 (5: ordered most recently).
    pub r: u8,
    /// Frequency score, 1–5.
    pub f: u8,
    /// Monetary score, 1–5.
    pub m: u8,
    /// The group the three give.
    pub group: RfmGroup,
}

/// The eight RFM groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfmGroup {
    /// R high, F high, M high: 重要价值客户.
    ImportantValue,
    /// R high, F low, M high: 重要发展客户.
    ImportantDevelopment,
    /// R low, F high, M high: 重要保持客户.
    ImportantRetention,
    /// R low, F low, M high: 重要挽留客户.
    ImportantWinBack,
    /// R high, F high, M low: 一般价值客户.
    GeneralValue,
    /// R high, F low, M low: 一般发展客户.
    GeneralDevelopment,
    /// R low, F high, M low: 一般保持客户.
    GeneralRetention,
    /// R low, F low, M low: 一般挽留客户.
    GeneralWinBack,
}

impl RfmGroup {
    /// Every group, most valuable first.
    pub const ALL: [RfmGroup; 8] = [
        Self::ImportantValue,
        Self::ImportantDevelopment,
        Self::ImportantRetention,
        Self::ImportantWinBack,
        Self::GeneralValue,
        Self::GeneralDevelopment,
        Self::GeneralRetention,
        Self::GeneralWinBack,
    ];

    /// The group of three high (`true`) or low dimensions.
    pub fn of(r_high: bool, f_high: bool, m_high: bool) -> Self {
        match (r_high, f_high, m_high) {
            (true, true, true) => Self::ImportantValue,
            (true, false, true) => Self::ImportantDevelopment,
            (false, true, true) => Self::ImportantRetention,
            (false, false, true) => Self::ImportantWinBack,
            (true, true, false) => Self::GeneralValue,
            (true, false, false) => Self::GeneralDevelopment,
            (false, true, false) => Self::GeneralRetention,
            (false, false, false) => Self::GeneralWinBack,
        }
    }

    /// The tag value: a stable English slug.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImportantValue => "important_value",
            Self::ImportantDevelopment => "important_development",
            Self::ImportantRetention => "important_retention",
            Self::ImportantWinBack => "important_win_back",
            Self::GeneralValue => "general_value",
            Self::GeneralDevelopment => "general_development",
            Self::GeneralRetention => "general_retention",
            Self::GeneralWinBack => "general_win_back",
        }
    }

    /// Its name in Chinese and English.
    pub fn label(self) -> Label {
        let (zh, en) = match self {
            Self::ImportantValue => ("重要价值客户", "Important value customer"),
            Self::ImportantDevelopment => ("重要发展客户", "Important development customer"),
            Self::ImportantRetention => ("重要保持客户", "Important retention customer"),
            Self::ImportantWinBack => ("重要挽留客户", "Important win-back customer"),
            Self::GeneralValue => ("一般价值客户", "General value customer"),
            Self::GeneralDevelopment => ("一般发展客户", "General development customer"),
            Self::GeneralRetention => ("一般保持客户", "General retention customer"),
            Self::GeneralWinBack => ("一般挽留客户", "General win-back customer"),
        };
        Label {
            zh: zh.into(),
            en: en.into(),
        }
    }
}

/// Quintile scores (1–5) of `values`, higher values scoring higher, by mid-rank
/// percentile (see the module's contract). NaN counts as the lowest value.
pub fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| {
        if values[i].is_nan() {
            f64::NEG_INFINITY
        } else {
            values[i]
        }
    };
    order.sort_by(|a, b| key(*a).total_cmp(&key(*b)));
    let mut scores = vec![0u8; n];
    let mut below = 0usize;
    while below < n {
        let value = key(order[below]);
        let equal = order[below..].iter().take_while(|i| key(**i) == value).count();
        // ⌊5 (L + E/2) / n⌋ + 1 in integers: ⌊(10L + 5E) / 2n⌋ + 1.
        let score = ((10 * below + 5 * equal) / (2 * n) + 1).min(5);
        for i in &order[below..below + equal] {
            scores[*i] = score as u8;
        }
        below += equal;
    }
    scores
}

/// Scores every buyer of a population and puts each in a group.
pub fn score_population(population: &[RfmFacts]) -> Vec<RfmScore> {
    let recency: Vec<f64> = population.iter().map(|p| -f64::from(p.recency_days)).collect();
    let frequency: Vec<f64> = population.iter().map(|p| f64::from(p.frequency)).collect();
    let monetary: Vec<f64> = population.iter().map(|p| p.monetary).collect();
    let (r, f, m) = (quintiles(&recency), quintiles(&frequency), quintiles(&monetary));
    let n = population.len();
    let total = |scores: &[u8]| scores.iter().map(|s| usize::from(*s)).sum::<usize>();
    let (r_sum, f_sum, m_sum) = (total(&r), total(&f), total(&m));
    // score ≥ sum / n, compared exactly as score · n ≥ sum.
    let high = |score: u8, sum: usize| usize::from(score) * n >= sum;
    (0..n)
        .map(|i| RfmScore {
            r: r[i],
            f: f[i],
            m: m[i],
            group: RfmGroup::of(high(r[i], r_sum), high(f[i], f_sum), high(m[i], m_sum)),
        })
        .collect()
}
