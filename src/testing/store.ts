// Persistence of a fake cluster in a directory, so that a cluster killed with SIGKILL and started again
// keeps what it acknowledged: each partition's batches are appended to a file before the produce is
// answered, the rest (topics, leaders, committed offsets, producer ids) is a small JSON file rewritten
// atomically on every change.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBatch, type LogSink, type StoredBatch } from './log.ts';
import { BatchLayout as L } from '../protocol/records/index.ts';

export interface PersistedPartition {
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  logStartOffset: string;
}

export interface PersistedTopic {
  name: string;
  id: string;
  configs: Record<string, string>;
  partitions: PersistedPartition[];
}

export interface PersistedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: string;
  leaderEpoch: number;
  metadata: string | null;
}

export interface PersistedMeta {
  clusterId: string;
  nextProducerId: string;
  topics: PersistedTopic[];
  offsets: PersistedOffset[];
}

export class FileStore {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
  }

  private get metaFile(): string {
    return join(this.dir, 'meta.json');
  }

  loadMeta(): PersistedMeta | null {
    if (!existsSync(this.metaFile)) return null;
    return JSON.parse(readFileSync(this.metaFile, 'utf8')) as PersistedMeta;
  }

  saveMeta(meta: PersistedMeta): void {
    const tmp = `${this.metaFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(meta));
    renameSync(tmp, this.metaFile);
  }

  private logFile(topicId: string, partition: number): string {
    return join(this.dir, 'logs', `${topicId}-${partition}.log`);
  }

  logSink(topicId: string, partition: number): LogSink {
    const file = this.logFile(topicId, partition);
    return {
      append: (bytes) => appendFileSync(file, bytes),
      truncateStart: (batches) => {
        const tmp = `${file}.tmp`;
        writeFileSync(tmp, Buffer.concat(batches.map((b) => b.bytes)));
        renameSync(tmp, file);
      },
    };
  }

  /** The batches of a partition file; a batch cut short by a kill mid-write is ignored (never acked). */
  loadLog(topicId: string, partition: number): StoredBatch[] {
    const file = this.logFile(topicId, partition);
    if (!existsSync(file)) return [];
    const data = new Uint8Array(readFileSync(file));
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const out: StoredBatch[] = [];
    let pos = 0;
    while (data.length - pos >= L.LOG_OVERHEAD) {
      const total = L.LOG_OVERHEAD + view.getInt32(pos + L.BATCH_LENGTH);
      if (total < L.HEADER_SIZE || data.length - pos < total) break;
      out.push(describeBatch(data.slice(pos, pos + total)));
      pos += total;
    }
    return out;
  }

  removeTopic(topicId: string, partitions: number): void {
    for (let p = 0; p < partitions; p++) rmSync(this.logFile(topicId, p), { force: true });
  }
}
