/** An amount of the staking token (wei, 18 decimals) as people read it: one decimal, rounded, "VRF". */
export function formatVrf(wei: string | bigint): string {
  return `${(Number(BigInt(wei) / 10n ** 15n) / 1000).toFixed(1)} VRF`;
}
