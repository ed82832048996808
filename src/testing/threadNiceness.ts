import { readdirSync, readFileSync } from "node:fs";

/** Each of this process's threads' niceness (Linux: field 19 of /proc's stat, after the command's parentheses). */
export function threadNiceness(): number[] {
  return readdirSync("/proc/self/task").map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}
