/**
 * Stakes (docs/spec/otr.md §6.1): deposits in the staking token, unbonding that becomes withdrawable
 * after a delay, and slashing that takes from the active stake first, then from what is unbonding —
 * so a worker cannot escape a slash by unbonding the moment it cheats. Amounts are bigint wei; every
 * movement is recorded so that totals can be reconciled (conservation).
 */
import type { Hex } from "../encoding/hex.ts";
import { fail, ok, type Verdict } from "../errors.ts";

interface Account {
  active: bigint;
  unbonding: { amount: bigint; availableAt: number }[];
}

/** Stakes of every party. */
export class StakeBook {
  private readonly accounts = new Map<string, Account>();
  /** Totals, for reconciliation: deposited = active + unbonding + withdrawn + slashed. */
  deposited = 0n;
  withdrawn = 0n;
  slashed = 0n;

  constructor(private readonly unbondingMs: number) {}

  private account(who: Hex): Account {
    const k = who.toLowerCase();
    let a = this.accounts.get(k);
    if (!a) {
      a = { active: 0n, unbonding: [] };
      this.accounts.set(k, a);
    }
    return a;
  }

  /** Active stake (what counts for minimums and attribution). */
  active(who: Hex): bigint {
    return this.accounts.get(who.toLowerCase())?.active ?? 0n;
  }

  /** Everything still at risk: active plus unbonding. */
  atRisk(who: Hex): bigint {
    const a = this.accounts.get(who.toLowerCase());
    return a ? a.active + a.unbonding.reduce((s, u) => s + u.amount, 0n) : 0n;
  }

  deposit(who: Hex, amount: bigint): Verdict<bigint> {
    if (amount <= 0n) return fail("STAKE_INVALID", `a deposit must be positive, got ${amount}`);
    const a = this.account(who);
    a.active += amount;
    this.deposited += amount;
    return ok(a.active);
  }

  /** Starts unbonding `amount`: still slashable until `now + unbondingMs`. */
  unbond(who: Hex, amount: bigint, now: number): Verdict<number> {
    const a = this.account(who);
    if (amount <= 0n || amount > a.active)
      return fail("STAKE_INVALID", `can unbond 1..${a.active} wei, not ${amount}`, {
        active: a.active.toString(),
      });
    a.active -= amount;
    const availableAt = now + this.unbondingMs;
    a.unbonding.push({ amount, availableAt });
    return ok(availableAt);
  }

  /** Withdraws everything whose unbonding delay has passed. */
  withdraw(who: Hex, now: number): bigint {
    const a = this.account(who);
    let out = 0n;
    a.unbonding = a.unbonding.filter((u) => {
      if (u.availableAt > now) return true;
      out += u.amount;
      return false;
    });
    this.withdrawn += out;
    return out;
  }

  /** Slashes up to `amount` (active first, then the newest unbonding); returns what was taken. */
  slash(who: Hex, amount: bigint): bigint {
    const a = this.account(who);
    let left = amount;
    const fromActive = minBig(left, a.active);
    a.active -= fromActive;
    left -= fromActive;
    for (let i = a.unbonding.length - 1; i >= 0 && left > 0n; i--) {
      const u = a.unbonding[i] as { amount: bigint };
      const take = minBig(left, u.amount);
      u.amount -= take;
      left -= take;
    }
    a.unbonding = a.unbonding.filter((u) => u.amount > 0n);
    const taken = amount - left;
    this.slashed += taken;
    return taken;
  }

  /** Active plus unbonding over every account. */
  held(): bigint {
    let s = 0n;
    for (const a of this.accounts.values()) s += a.active + a.unbonding.reduce((x, u) => x + u.amount, 0n);
    return s;
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
