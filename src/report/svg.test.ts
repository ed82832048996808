import { describe, expect, it } from "vitest";
import { barChart, fitRange, lineChart, scatterPlot } from "./svg.ts";

/** x of each bar's far end (the rect's left edge for negatives, right edge for positives). */
const barEnds = (svg: string) =>
  [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="(#[0-9a-f]+)"/g)].map((m) =>
    m[3] === "#d8643b" ? Number(m[1]) : Number(m[1]) + Number(m[2]),
  );

describe("charts fit their data", () => {
  it("widens the preferred range to every value, rounded to a tick, and keeps it when the data fit", () => {
    expect(fitRange([-0.4, 1], [0.2, 0.9])).toEqual([-0.4, 1]);
    expect(fitRange([-0.4, 1], [-0.924, 0.5])).toEqual([-1, 1]);
    expect(fitRange([-0.3, 0.3], [0.41, null, Number.NaN])).toEqual([-0.3, 0.5]);
  });

  it("draws −0.924 and −0.400 at different places (the audit's bars once shared a floor)", () => {
    const svg = barChart({
      title: "t",
      min: -0.4,
      max: 1,
      bars: [
        { label: "a", value: -0.924 },
        { label: "b", value: -0.4 },
        { label: "c", value: 0.5 },
      ],
    });
    const [a, b, c] = barEnds(svg) as [number, number, number];
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    expect(svg).toContain(">-1<"); // the axis now starts at −1
  });

  it("line and scatter charts widen their y axis instead of flattening values at the edge", () => {
    const line = lineChart({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      yRange: [-0.3, 0.3],
      series: [
        {
          label: "s",
          points: [
            [0, 0.1],
            [1, 0.45],
            [2, 0.6],
          ],
        },
      ],
    });
    const ys = [...line.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => Number(m[2]));
    expect(new Set(ys).size).toBe(3); // 0.45 and 0.6 no longer drawn at the same clipped height
    const scatter = scatterPlot({
      title: "t",
      xLabel: "x",
      yLabel: "y",
      xRange: [0, 1],
      yRange: [0, 1],
      points: [[0.5, 1.7]],
    });
    expect(scatter).toMatch(/>1.75<\/text>/);
  });
});
