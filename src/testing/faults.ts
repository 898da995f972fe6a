// Fault injection: rules matched against each request a broker receives, in the order they were added;
// the first rule that matches (and has uses left) decides what happens to that request. Deterministic:
// no probabilities, a rule applies to exactly the requests it names, `times` of them.
import { apiByKey, apiByName } from '../protocol/messages/index.ts';

export interface FaultSpec {
  /** Only requests to this broker id; every broker by default. */
  broker?: number;
  /** Only this API, by name (`'Produce'`) or key; every API by default. */
  api?: string | number;
  /** How many matching requests the rule applies to; unlimited by default. */
  times?: number;
  /** Hold the answer this long (the connection answers in order, so later requests wait too). */
  delayMs?: number;
  /** Answer this code in every error code field of the response (the request is still applied first). */
  errorCode?: number;
  /** Close the connection instead of answering. */
  drop?: boolean;
  /** Never answer this request; the connection stays open and answers nothing after it either. */
  noAnswer?: boolean;
  /** Flip the bits of one byte of the answer's body (after the size prefix): at this index (negative: from the end), or the last. */
  corruptAt?: number | 'last';
}

export interface Fault {
  readonly spec: Readonly<FaultSpec>;
  /** Requests the rule has applied to so far. */
  readonly hits: number;
  remove(): void;
}

interface Rule extends Fault {
  apiKey: number | undefined;
  left: number;
  hits: number;
}

export class FaultRules {
  private rules: Rule[] = [];

  add(spec: FaultSpec): Fault {
    let apiKey: number | undefined;
    if (spec.api !== undefined) {
      const codec = typeof spec.api === 'number' ? apiByKey(spec.api) : apiByName(spec.api);
      if (!codec) throw new TypeError(`fault: no API ${String(spec.api)}`);
      apiKey = codec.apiKey;
    }
    const rule: Rule = {
      spec: { ...spec },
      apiKey,
      left: spec.times ?? Infinity,
      hits: 0,
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
    };
    this.rules.push(rule);
    return rule;
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that applies to this request, its use counted; undefined when none. */
  match(broker: number, apiKey: number): Readonly<FaultSpec> | undefined {
    for (const r of this.rules) {
      if (r.left <= 0) continue;
      if (r.spec.broker !== undefined && r.spec.broker !== broker) continue;
      if (r.apiKey !== undefined && r.apiKey !== apiKey) continue;
      r.left--;
      r.hits++;
      return r.spec;
    }
    return undefined;
  }
}

/** Sets every `errorCode` field of a response to `code` (and drops the records of errored partitions). */
export function overwriteErrorCodes(value: unknown, code: number): void {
  if (Array.isArray(value)) {
    for (const v of value) overwriteErrorCodes(v, code);
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  const o = value as Record<string, unknown>;
  if ('errorCode' in o) {
    o.errorCode = code;
    if ('records' in o) o.records = null;
  }
  for (const v of Object.values(o)) overwriteErrorCodes(v, code);
}
