// The one Map key for a topic-partition inside the reader (a topic name cannot hold NUL).
export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
