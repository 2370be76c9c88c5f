import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./credentials";

/**
 * The sandbox's state: tables of JSON records that survive a restart. Every change is appended to a journal
 * (one line per record written, so a kill -9 loses at most the line being written); on start the journal is
 * replayed and compacted into a snapshot.
 */
export class Store {
  private readonly tables = new Map<string, Map<string, unknown>>();
  private readonly journal: string | undefined;

  constructor(dataDir: string | undefined) {
    if (dataDir === undefined) return;
    mkdirSync(dataDir, { recursive: true });
    this.journal = join(dataDir, "state.jsonl");
    if (existsSync(this.journal)) {
      for (const line of readFileSync(this.journal, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        let entry: { t: string; k: string; v: unknown };
        try {
          entry = JSON.parse(line);
        } catch {
          continue; // a line cut short by a crash
        }
        this.table(entry.t).set(entry.k, entry.v);
      }
    }
    const snapshot = [...this.tables].flatMap(([t, rows]) =>
      [...rows].map(([k, v]) => JSON.stringify({ t, k, v })),
    );
    writeFileAtomic(this.journal, snapshot.length ? `${snapshot.join("\n")}\n` : "");
  }

  private table(name: string): Map<string, unknown> {
    let t = this.tables.get(name);
    if (!t) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  get<T>(table: string, key: string): T | undefined {
    return this.table(table).get(key) as T | undefined;
  }

  all<T>(table: string): T[] {
    return [...this.table(table).values()] as T[];
  }

  /** Saves a record (a copy: later changes to the object need another put). */
  put<T>(table: string, key: string, value: T): T {
    const copy = structuredClone(value);
    this.table(table).set(key, copy);
    if (this.journal) appendFileSync(this.journal, `${JSON.stringify({ t: table, k: key, v: copy })}\n`);
    return value;
  }
}
