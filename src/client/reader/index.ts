// Public surface of the Reader.
export { Reader, type PartitionLag, type PartitionRef } from './reader.ts';
export { FirstOffset, LastOffset, type ReaderConfig, type AssignorName, type IsolationLevel, type OffsetOutOfRangePolicy, type GroupProtocol } from './config.ts';
export type { Message, MessageHeader } from './message.ts';
export type { ReaderStats } from './stats.ts';
export type { TopicPartition } from './group/assignors.ts';
export type { ReaderHealth, PartitionHealth, StallEvent, StallCause } from './watchdog.ts';
