//! `LBA(d, A, v, s, tau, response)`, the linear ballistic accumulator (Brown &
//! Heathcote 2008) as hBayesDM's `lba_lpdf` defines it: accumulator `j` starts
//! uniformly in `(0, A)` and rises at a drift drawn from `Normal(v[j], s)` to the
//! threshold `b = A + d`; the density of a response `k` at time `rt` is accumulator
//! `k`'s finishing-time density at `t = rt - tau` times every other accumulator's
//! survivor at `t`, over the probability that some drift is positive (a trial has a
//! response), and 0 where `t <= 0`. (hBayesDM's program floors the density at 1e-10;
//! this is the density itself.)
//!
//! It is lowered to ordinary elementwise ops (so the gradient and the JIT come with
//! them), in forms that keep their digits where the textbook ones underflow or cancel.
//! With `z_hi = (b - t v) / (t s)` and `z_lo = z_hi - A / (t s)`, every normal tail is
//! made from Mills' ratio `R(x) = Phi(-x) / phi(x)` (`UnaryOp::MillsRatio`, one call per
//! `z`, whose slope needs no second call) and `phi(z)`:
//! * the finishing-time density `(1/A) ∫_{z_lo}^{z_hi} (v + s z) phi(z) dz` is computed
//!   relative to `phi(m)`, `m` the point of `[z_lo, z_hi]` nearest 0, so that early times
//!   (`z_lo` of 40 and more, where `phi` and the Phi difference underflow) keep a finite
//!   log density;
//! * the survivor `(t s / A) (Psi(z_hi) - Psi(z_lo))`, `Psi(z) = z Phi(z) + phi(z) =
//!   max(z, 0) + phi(z) (1 - |z| R(|z|))`, relative to `phi(z_hi)` where both ends are
//!   at or below 0 (a large drift, late in the trial), and with the linear parts as the
//!   exact width `A / (t s)` where both are at or above 0;
//! * the probability that some drift is positive is `-expm1(sum log Phi(-v / s))`.
//!
//! Each branch of a `select` reads arguments inside its own range where it is not
//! chosen, so that no NaN reaches the adjoint.

use super::{unsupported, Lowering, Result};
use crate::ir::*;
use rlc_check::types::IntRange;
use rlc_syntax::ast;

/// `ln sqrt(2 pi)`.
const LOG_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// `sqrt(2 pi)`.
const SQRT_2PI: f64 = 2.506_628_274_631_000_2;

impl<'m> Lowering<'m> {
    /// The log density of the response times `y` (shape `batch`) under `LBA` with the
    /// lowered arguments `[d, A, v, s, tau]` (`v` with the accumulators along its last
    /// axis) and the 0-based `response` of each, whose checked range is `range`.
    pub(super) fn lba_density(
        &mut self,
        y: ValueId,
        args: &[ValueId],
        response: ValueId,
        batch: &[Dim],
        range: Option<&IntRange>,
        span: ast::Span,
    ) -> Result<ValueId> {
        let (v, k) = self.lba_drifts(args[2], span)?;
        let mut full = batch.to_vec();
        full.push(k.clone());
        let v = self.broadcast_to(v, &full);
        let real = TensorType::real(batch.to_vec());
        let [mut d, mut a, mut s, mut tau] = [args[0], args[1], args[3], args[4]].map(|x| {
            let x = self.cast(x, Elem::Real);
            self.broadcast_to(x, batch)
        });
        // Outside their domain (d, A, s <= 0, tau < 0) the density is -inf, as Stan's
        // errors reject; the formulas read 1 there.
        let zero = self.real(0.0);
        let one = self.real(1.0);
        let mut valid = None;
        for (x, strict) in [
            (&mut d, true),
            (&mut a, true),
            (&mut s, true),
            (&mut tau, false),
        ] {
            let op = if strict { BinaryOp::Gt } else { BinaryOp::Ge };
            let ok = self.binary(op, *x, zero);
            let one_b = self.broadcast_to(one, batch);
            *x = self.select(ok, *x, one_b, real.clone());
            valid = Some(match valid {
                None => ok,
                Some(before) => self.binary(BinaryOp::And, before, ok),
            });
        }
        let y = self.cast(y, Elem::Real);
        let y = self.broadcast_to(y, batch);
        let t = self.sub(y, tau);
        let started = self.binary(BinaryOp::Gt, t, zero);
        let one_b = self.broadcast_to(one, batch);
        let t = self.select(started, t, one_b, real.clone());
        let b = self.add(a, d);

        // Per trial as a column, which broadcasts against the accumulators.
        let mut column_shape = batch.to_vec();
        column_shape.push(Dim::constant(1));
        let [t, a, b, s] = [t, a, b, s].map(|x| self.reshape(x, column_shape.clone()));
        let sigma = self.mul(t, s);
        let tv = self.mul(t, v);
        let gap = self.sub(b, tv);
        let z_hi = self.div(gap, sigma);
        let width = self.div(a, sigma);
        let z_lo = self.sub(z_hi, width);
        let log_a = self.unary(UnaryOp::Log, a);
        let log_sigma = self.unary(UnaryOp::Log, sigma);
        let log_scale = self.sub(log_sigma, log_a);

        let (log_pdf, log_survivor) = self.lba_log_terms(z_lo, z_hi, width, v, s, log_scale, &full);
        let log_pdf = self.sub(log_pdf, log_a);

        // The chosen accumulator's density, and every other one's survivor.
        let needs_bounds_check = !range.is_some_and(|r| {
            r.lo.provably_nonnegative() && k.sub(&r.hi).is_some_and(|d| d.provably_nonnegative())
        });
        let response = self.cast(response, Elem::Int);
        let response = self.broadcast_to(response, batch);
        let chosen_density =
            self.take_along_last_axis(log_pdf, response, batch, needs_bounds_check);
        let index = self.emit1(OpKind::Iota, &[], TensorType::new(Elem::Int, vec![k]));
        let response_column = self.reshape(response, column_shape);
        let chosen = self.binary(BinaryOp::Eq, index, response_column);
        let zero_full = self.broadcast_to(zero, &full);
        let others = self.select(
            chosen,
            zero_full,
            log_survivor,
            TensorType::real(full.clone()),
        );
        let others = self.reduce(ReduceOp::Sum, others, Some(batch.len()));

        // log P(some drift > 0) = log(1 - prod Phi(-v / s)).
        let ratio = self.div(v, s);
        let minus = self.unary(UnaryOp::Neg, ratio);
        let log_negative = self.unary(UnaryOp::LogPhi, minus);
        let all_negative = self.reduce(ReduceOp::Sum, log_negative, Some(batch.len()));
        let some = self.unary(UnaryOp::Expm1, all_negative);
        let some = self.unary(UnaryOp::Neg, some);
        let log_some = self.unary(UnaryOp::Log, some);

        let lp = self.add(chosen_density, others);
        let lp = self.sub(lp, log_some);
        let lp = self.reject_unless(started, lp, Rejection::BeforeNonDecisionTime);
        let valid = valid.ok_or_else(|| unsupported(span, "`LBA` without arguments"))?;
        Ok(self.reject_unless(valid, lp, Rejection::ArgumentOutsideDomain))
    }

    /// `LBA`'s drifts `v` as reals, and the number of accumulators, their last axis.
    pub(super) fn lba_drifts(&mut self, v: ValueId, span: ast::Span) -> Result<(ValueId, Dim)> {
        let v = self.cast(v, Elem::Real);
        let k = self
            .ty(v)
            .shape
            .last()
            .cloned()
            .ok_or_else(|| unsupported(span, "`LBA` without accumulators"))?;
        Ok((v, k))
    }

    /// The finishing-time densities' and survivors' logs of every accumulator, from
    /// `z_lo < z_hi` (shape `full`): per `z`, `phi(z)` and Mills' ratio `R(|z|)`, the
    /// only special function, from which every normal tail below is made.
    #[allow(clippy::too_many_arguments)]
    fn lba_log_terms(
        &mut self,
        z_lo: ValueId,
        z_hi: ValueId,
        width: ValueId,
        v: ValueId,
        s: ValueId,
        log_scale: ValueId,
        full: &[Dim],
    ) -> (ValueId, ValueId) {
        let real = TensorType::real(full.to_vec());
        let zero = self.real(0.0);
        let one = self.real(1.0);
        let ones = self.broadcast_to(one, full);
        let half = self.real(0.5);
        let c = self.real(LOG_SQRT_2PI);
        let sqrt_2pi = self.real(SQRT_2PI);
        let [lo, hi] = [z_lo, z_hi].map(|z| self.normal_pieces(z));
        let above = self.binary(BinaryOp::Ge, z_lo, zero);
        let below = self.binary(BinaryOp::Le, z_hi, zero);
        let tail = self.binary(BinaryOp::Or, above, below);
        // On a tail, phi(far) / phi(near), `near` the end nearer 0 (elsewhere 1).
        let lo2 = self.mul(z_lo, z_lo);
        let hi2 = self.mul(z_hi, z_hi);
        let drop = self.sub(lo2, hi2);
        let drop = self.mul(drop, half);
        let minus_drop = self.unary(UnaryOp::Neg, drop);
        let drop = self.select(above, drop, minus_drop, real.clone());
        let drop = self.binary(BinaryOp::Min, drop, zero);
        let fall = self.unary(UnaryOp::Exp, drop);

        // The density, relative to phi(m), m the point of [z_lo, z_hi] nearest 0:
        // (v (Phi(z_hi) - Phi(z_lo)) + s (phi(z_lo) - phi(z_hi))) / phi(m).
        let near_r = self.select(above, lo.mills, hi.mills, real.clone());
        let far_r = self.select(above, hi.mills, lo.mills, real.clone());
        let far_r = self.mul(far_r, fall);
        let mass_tail = self.sub(near_r, far_r);
        let lo_tail = self.mul(lo.mills, lo.density);
        let hi_tail = self.mul(hi.mills, hi.density);
        let mass_across = self.sub(ones, lo_tail);
        let mass_across = self.sub(mass_across, hi_tail);
        let mass_across = self.mul(mass_across, sqrt_2pi);
        let mass = self.select(tail, mass_tail, mass_across, real.clone());
        let rise = self.sub(ones, fall);
        let minus_rise = self.unary(UnaryOp::Neg, rise);
        let bump_tail = self.select(above, rise, minus_rise, real.clone());
        let bump_across = self.sub(lo.density, hi.density);
        let bump_across = self.mul(bump_across, sqrt_2pi);
        let bump = self.select(tail, bump_tail, bump_across, real.clone());
        let drift = self.mul(v, mass);
        let bump = self.mul(s, bump);
        let bracket = self.add(drift, bump);
        let near2 = self.select(above, lo2, hi2, real.clone());
        let zero_full = self.broadcast_to(zero, full);
        let m2 = self.select(tail, near2, zero_full, real.clone());
        let m2 = self.mul(m2, half);
        let log_bracket = self.unary(UnaryOp::Log, bracket);
        let log_density = self.sub(log_bracket, m2);
        let log_density = self.sub(log_density, c);

        // The survivor over sigma / A: Psi(z_hi) - Psi(z_lo), with
        // Psi(z) = max(z, 0) + phi(z) (1 - |z| R(|z|)).
        // Both ends <= 0: phi(z_hi) (Psi~(z_hi) - phi(z_lo) / phi(z_hi) Psi~(z_lo)).
        let lo_scaled = self.mul(fall, lo.scaled_psi);
        let scaled = self.sub(hi.scaled_psi, lo_scaled);
        let scaled = self.select(below, scaled, ones, real.clone());
        let log_scaled = self.unary(UnaryOp::Log, scaled);
        let hi2_half = self.mul(hi2, half);
        let on_tail = self.sub(log_scaled, hi2_half);
        let on_tail = self.sub(on_tail, c);
        // Otherwise directly, the linear parts as the width A / sigma where both are >= 0.
        let width = self.broadcast_to(width, full);
        let linear = self.select(above, width, z_hi, real.clone());
        let psi_hi = self.mul(hi.density, hi.scaled_psi);
        let psi_lo = self.mul(lo.density, lo.scaled_psi);
        let direct = self.add(linear, psi_hi);
        let direct = self.sub(direct, psi_lo);
        let direct = self.select(below, ones, direct, real.clone());
        let direct = self.unary(UnaryOp::Log, direct);
        let log_survivor = self.select(below, on_tail, direct, real);
        let log_survivor = self.add(log_survivor, log_scale);
        (log_density, log_survivor)
    }

    /// `phi(z)`, Mills' ratio `R(|z|) = Phi(-|z|) / phi(z)` (from `log Phi`, finite where
    /// both underflow) and `1 - |z| R(|z|)`, which is `Psi(z) / phi(z)` for `z <= 0`.
    fn normal_pieces(&mut self, z: ValueId) -> NormalPieces {
        let a = self.unary(UnaryOp::Abs, z);
        let mills = self.unary(UnaryOp::MillsRatio, a);
        let square = self.mul(z, z);
        let half = self.real(0.5);
        let half_square = self.mul(square, half);
        let c = self.real(LOG_SQRT_2PI);
        let log_density = self.add(half_square, c);
        let log_density = self.unary(UnaryOp::Neg, log_density);
        let density = self.unary(UnaryOp::Exp, log_density);
        let ar = self.mul(a, mills);
        let one = self.real(1.0);
        let scaled_psi = self.sub(one, ar);
        NormalPieces {
            density,
            mills,
            scaled_psi,
        }
    }
}

/// What `Lowering::normal_pieces` computes of one `z`.
struct NormalPieces {
    density: ValueId,
    mills: ValueId,
    scaled_psi: ValueId,
}
