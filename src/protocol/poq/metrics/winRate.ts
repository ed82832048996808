/**
 * AlpacaEval win rate from judge preferences in [1, 2] (1 = reference better, 2 = model better):
 * `win_rate = 100 · mean(preference − 1)`, with its standard error as AlpacaEval reports it.
 */

/** Win-rate summary of one model. */
export interface WinRate {
  readonly winRate: number;
  readonly standardError: number;
  readonly wins: number;
  readonly draws: number;
  readonly losses: number;
  readonly total: number;
}

/** Computes the AlpacaEval win rate of a list of preferences. */
export function alpacaWinRate(preferences: readonly number[]): WinRate {
  const n = preferences.length;
  if (n === 0) return { winRate: 0, standardError: 0, wins: 0, draws: 0, losses: 0, total: 0 };
  let sum = 0;
  let wins = 0;
  let draws = 0;
  for (const p of preferences) {
    sum += p - 1;
    if (p > 1.5) wins++;
    else if (p === 1.5) draws++;
  }
  const mean = sum / n;
  let variance = 0;
  for (const p of preferences) variance += (p - 1 - mean) ** 2;
  // Sample standard deviation (ddof = 1), as pandas' .sem() used by AlpacaEval.
  const standardError = n > 1 ? (100 * Math.sqrt(variance / (n - 1))) / Math.sqrt(n) : 0;
  return { winRate: 100 * mean, standardError, wins, draws, losses: n - wins - draws, total: n };
}
