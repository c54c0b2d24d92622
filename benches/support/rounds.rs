//! Alternating rounds: every contender is measured once per round, and
//! the one that goes first moves on by one each round, so a burst of
//! noise from elsewhere on the machine favours no one. Each figure is then
//! a median over rounds, and each ratio the median of the per-round ratios
//! with their spread (how much the rounds agreed).

use super::report::{median, ratio_with_spread};

/// What each contender measured in each round: `rounds[round][contender]`.
pub struct Rounds<Measured> {
    rounds: Vec<Vec<Measured>>,
}

impl<Measured> Rounds<Measured> {
    /// Measures `count` rounds of `contenders` contenders (indexed from 0):
    /// in round `r` they go in the order `r, r + 1, …` (modulo
    /// `contenders`). `measure(round, contender)` measures one;
    /// `after_round(round, measured)` sees each round once it is complete,
    /// indexed by contender, to print or check it.
    pub async fn measure(
        count: usize,
        contenders: usize,
        mut measure: impl AsyncFnMut(usize, usize) -> anyhow::Result<Measured>,
        mut after_round: impl FnMut(usize, &[Measured]) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        let mut rounds = Vec::with_capacity(count);
        for round in 0..count {
            let mut measured = Vec::with_capacity(contenders);
            for turn in 0..contenders {
                let contender = (round + turn) % contenders;
                measured.push((contender, measure(round, contender).await?));
            }
            measured.sort_by_key(|(contender, _)| *contender);
            let measured: Vec<Measured> = measured.into_iter().map(|(_, value)| value).collect();
            after_round(round, &measured)?;
            rounds.push(measured);
        }
        Ok(Self { rounds })
    }

    /// How many rounds were measured.
    pub fn len(&self) -> usize {
        self.rounds.len()
    }

    /// What `contender` measured, round by round.
    pub fn of(&self, contender: usize) -> impl Iterator<Item = &Measured> {
        self.rounds.iter().map(move |round| &round[contender])
    }

    /// The median over rounds of `pick` of what `contender` measured.
    pub fn median(&self, contender: usize, pick: impl Fn(&Measured) -> f64) -> f64 {
        median(self.of(contender).map(pick))
    }

    /// The median over rounds of `pick(contender) / pick(baseline)`, with
    /// the lowest and highest: `0.37 (0.36..0.42)`.
    pub fn ratio(
        &self,
        contender: usize,
        baseline: usize,
        pick: impl Fn(&Measured) -> f64,
    ) -> String {
        ratio_with_spread(
            self.rounds
                .iter()
                .map(|round| pick(&round[contender]) / pick(&round[baseline])),
        )
    }
}
