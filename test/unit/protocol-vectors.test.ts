// Byte-exact vectors written by hand from the protocol guide and the JSON definitions — never produced by
// our encoder: whole request frames (size, header, body) as the client writes them, and a response as a
// broker sends it. Each vector is checked both ways: encoding gives exactly these bytes, decoding them
// gives exactly the expected value.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeRequestHeaderInto, readResponseCorrelation } from '../../src/client/request-frame.ts';
import type { ApiCodec, Encodable } from '../../src/protocol/codec.ts';
import { ProtocolDecodeError } from '../../src/protocol/errors.ts';
import { AddPartitionsToTxn, Api, ApiVersions, decodeRequestHeader, Fetch, Metadata, Produce } from '../../src/protocol/messages/index.ts';
import { ByteReader } from '../../src/protocol/wire/byte-reader.ts';
import { ByteWriter } from '../../src/protocol/wire/byte-writer.ts';

const CLIENT_ID = 'mka';
const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** A whole request frame, built the way Connection does: int32 size, request header, body. */
function frame<Req>(api: ApiCodec<Req, unknown>, version: number, correlationId: number, body: Encodable<Req>): number[] {
  const w = new ByteWriter(16);
  const sizeAt = w.reserve(4);
  encodeRequestHeaderInto(w, api as ApiCodec<unknown, unknown>, version, correlationId, CLIENT_ID);
  api.encodeRequest(w, version, body);
  w.setInt32At(sizeAt, w.length - 4);
  return [...w.finish()];
}

const ascii = (s: string) => [...Buffer.from(s, 'ascii')];
const hex = (bytes: number[]) => Buffer.from(bytes).toString('hex');

/** Checks the frame, then decodes header and body from the expected bytes and compares the values. */
function checkRequest<Req>(api: ApiCodec<Req, unknown>, version: number, correlationId: number, body: Encodable<Req>, expectedBytes: number[], decoded: Req): void {
  const got = frame(api, version, correlationId, body);
  assert.equal(hex(got), hex(expectedBytes), 'frame bytes');
  const bytes = Uint8Array.from(expectedBytes);
  const r = new ByteReader(bytes);
  assert.equal(r.int32(), bytes.length - 4, 'size prefix');
  const header = decodeRequestHeader(r, api.requestHeaderVersion(version));
  assert.equal(header.requestApiKey, api.apiKey);
  assert.equal(header.requestApiVersion, version);
  assert.equal(header.correlationId, correlationId);
  assert.equal(header.clientId, CLIENT_ID);
  assert.deepStrictEqual(api.decodeRequest(r, version), decoded);
  assert.equal(r.offset, bytes.length, 'the body ends where the frame ends');
}

// Request header v2 (flexible requests) and v1 (the others), per RequestHeader.json: ClientId stays a
// classic nullable string (int16 length) even in v2 ("flexibleVersions": "none"), then a tag buffer.
const headerV2 = (apiKey: number, version: number, correlationId: number) => [
  (apiKey >> 8) & 0xff, apiKey & 0xff, //         request_api_key    INT16
  0x00, version, //                                request_api_version INT16
  ...[24, 16, 8, 0].map((s) => (correlationId >>> s) & 0xff), // correlation_id INT32
  0x00, 0x03, ...ascii('mka'), //                  client_id NULLABLE_STRING (int16 length 3, not compact)
  0x00, //                                         TAG_BUFFER: no tagged fields
];
const headerV1 = (apiKey: number, version: number, correlationId: number) => headerV2(apiKey, version, correlationId).slice(0, -1);

describe('request frames, byte for byte', () => {
  test('ApiVersions v3 (header v2, compact strings, tag buffers)', () => {
    assert.equal(ApiVersions.requestHeaderVersion(3), 2);
    const expected = [
      0x00, 0x00, 0x00, 0x19, //                   size = 25
      ...headerV2(18, 3, 7), //                     14 bytes: key 18, v3, correlation 7, "mka", no tags
      0x04, ...ascii('mka'), //                     client_software_name COMPACT_STRING: length+1 = 4
      0x06, ...ascii('0.1.0'), //                   client_software_version COMPACT_STRING: length+1 = 6
      0x00, //                                      TAG_BUFFER
    ];
    assert.deepEqual(expected.slice(4, 18), [0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07, 0x00, 0x03, 0x6d, 0x6b, 0x61, 0x00]);
    checkRequest(Api.ApiVersions, 3, 7, { clientSoftwareName: 'mka', clientSoftwareVersion: '0.1.0' }, expected, {
      clientSoftwareName: 'mka',
      clientSoftwareVersion: '0.1.0',
      clusterId: null,
      nodeId: -1,
      unknownTaggedFields: undefined,
    });
  });

  test('ApiVersions v0 (header v1, empty body)', () => {
    assert.equal(ApiVersions.requestHeaderVersion(0), 1);
    const expected = [
      0x00, 0x00, 0x00, 0x0d, //                   size = 13
      0x00, 0x12, 0x00, 0x00, //                   api key 18, version 0
      0x00, 0x00, 0x00, 0x01, //                   correlation id 1
      0x00, 0x03, ...ascii('mka'), //              client_id NULLABLE_STRING, no tag buffer in v1
    ];
    checkRequest(Api.ApiVersions, 0, 1, {}, expected, { clientSoftwareName: '', clientSoftwareVersion: '', clusterId: null, nodeId: -1, unknownTaggedFields: undefined });
  });

  test('Metadata v12 (topic ids, compact nullable names)', () => {
    const id = Array.from({ length: 16 }, (_, i) => i + 1); // 01 02 .. 10
    const topicId = Buffer.from(id).toString('base64url'); // Kafka's Uuid string form
    assert.equal(topicId, 'AQIDBAUGBwgJCgsMDQ4PEA');
    const expected = [
      0x00, 0x00, 0x00, 0x3c, //                   size = 60
      ...headerV2(3, 12, 42), //                    key 3, v12, correlation 42
      0x03, //                                      topics COMPACT_ARRAY: 2 elements (+1)
      ...id, //                                     [0] topic_id UUID 0102..10
      0x00, //                                      [0] name COMPACT_NULLABLE_STRING null
      0x00, //                                      [0] TAG_BUFFER
      ...new Array(16).fill(0), //                  [1] topic_id UUID zero
      0x07, ...ascii('orders'), //                  [1] name "orders" (length+1 = 7)
      0x00, //                                      [1] TAG_BUFFER
      0x00, //                                      allow_auto_topic_creation BOOLEAN false
      0x01, //                                      include_topic_authorized_operations BOOLEAN true
      0x00, //                                      TAG_BUFFER (include_cluster_authorized_operations is v8-10 only)
    ];
    checkRequest(
      Metadata,
      12,
      42,
      { topics: [{ topicId, name: null }, { name: 'orders' }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: true },
      expected,
      {
        topics: [
          { topicId, name: null, unknownTaggedFields: undefined },
          { topicId: ZERO_UUID, name: 'orders', unknownTaggedFields: undefined },
        ],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: true,
        unknownTaggedFields: undefined,
      },
    );
  });

  test('Metadata v12 with topics null (all topics)', () => {
    const expected = [
      0x00, 0x00, 0x00, 0x12, //                   size = 18
      ...headerV2(3, 12, 1),
      0x00, //                                      topics COMPACT_ARRAY null
      0x01, //                                      allow_auto_topic_creation true (the default)
      0x00, //                                      include_topic_authorized_operations false
      0x00, //                                      TAG_BUFFER
    ];
    checkRequest(Metadata, 12, 1, { topics: null }, expected, {
      topics: null,
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
      unknownTaggedFields: undefined,
    });
  });

  test('Produce v9 (null transactional id, acks -1, one partition)', () => {
    const records = [0xca, 0xfe, 0xba, 0xbe, 0x00];
    const expected = [
      0x00, 0x00, 0x00, 0x27, //                   size = 39
      ...headerV2(0, 9, 1), //                      key 0, v9, correlation 1
      0x00, //                                      transactional_id COMPACT_NULLABLE_STRING null
      0xff, 0xff, //                                acks INT16 -1
      0x00, 0x00, 0x75, 0x30, //                    timeout_ms INT32 30000
      0x02, //                                      topic_data COMPACT_ARRAY: 1 element
      0x03, ...ascii('t1'), //                      name COMPACT_STRING "t1"
      0x02, //                                      partition_data COMPACT_ARRAY: 1 element
      0x00, 0x00, 0x00, 0x00, //                    index INT32 0
      0x06, ...records, //                          records COMPACT_RECORDS: 5 bytes (+1)
      0x00, //                                      partition TAG_BUFFER
      0x00, //                                      topic TAG_BUFFER
      0x00, //                                      TAG_BUFFER
    ];
    checkRequest(
      Produce,
      9,
      1,
      { transactionalId: null, acks: -1, timeoutMs: 30000, topicData: [{ name: 't1', partitionData: [{ index: 0, records: Uint8Array.from(records) }] }] },
      expected,
      {
        transactionalId: null,
        acks: -1,
        timeoutMs: 30000,
        topicData: [
          {
            name: 't1',
            topicId: ZERO_UUID,
            partitionData: [{ index: 0, records: Uint8Array.from(records), unknownTaggedFields: undefined }],
            unknownTaggedFields: undefined,
          },
        ],
        unknownTaggedFields: undefined,
      },
    );
  });

  test('Fetch v12 (session, one partition, last fetched epoch, rack)', () => {
    const expected = [
      0x00, 0x00, 0x00, 0x51, //                   size = 81
      ...headerV2(1, 12, 5), //                     key 1, v12, correlation 5
      //                                            (cluster_id: tagged, null by default, not written)
      0xff, 0xff, 0xff, 0xff, //                    replica_id INT32 -1
      0x00, 0x00, 0x01, 0xf4, //                    max_wait_ms INT32 500
      0x00, 0x00, 0x00, 0x01, //                    min_bytes INT32 1
      0x03, 0x20, 0x00, 0x00, //                    max_bytes INT32 52428800
      0x01, //                                      isolation_level INT8 1 (read committed)
      0x00, 0x00, 0x00, 0x00, //                    session_id INT32 0
      0xff, 0xff, 0xff, 0xff, //                    session_epoch INT32 -1
      0x02, //                                      topics COMPACT_ARRAY: 1 element
      0x03, ...ascii('t1'), //                      topic COMPACT_STRING "t1" (names until v12, ids from v13)
      0x02, //                                      partitions COMPACT_ARRAY: 1 element
      0x00, 0x00, 0x00, 0x02, //                    partition INT32 2
      0x00, 0x00, 0x00, 0x05, //                    current_leader_epoch INT32 5
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, // fetch_offset INT64 100
      0x00, 0x00, 0x00, 0x04, //                    last_fetched_epoch INT32 4
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // log_start_offset INT64 -1
      0x00, 0x10, 0x00, 0x00, //                    partition_max_bytes INT32 1048576
      0x00, //                                      partition TAG_BUFFER
      0x00, //                                      topic TAG_BUFFER
      0x01, //                                      forgotten_topics_data COMPACT_ARRAY: empty
      0x01, //                                      rack_id COMPACT_STRING ""
      0x00, //                                      TAG_BUFFER
    ];
    checkRequest(
      Fetch,
      12,
      5,
      {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 52428800,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 't1', partitions: [{ partition: 2, currentLeaderEpoch: 5, fetchOffset: 100n, lastFetchedEpoch: 4, logStartOffset: -1n, partitionMaxBytes: 1048576 }] }],
        forgottenTopicsData: [],
        rackId: '',
      },
      expected,
      {
        clusterId: null,
        replicaId: -1,
        replicaState: undefined,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 52428800,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: 't1',
            topicId: ZERO_UUID,
            partitions: [
              {
                partition: 2,
                currentLeaderEpoch: 5,
                fetchOffset: 100n,
                lastFetchedEpoch: 4,
                logStartOffset: -1n,
                partitionMaxBytes: 1048576,
                replicaDirectoryId: ZERO_UUID,
                highWatermark: 9223372036854775807n,
                unknownTaggedFields: undefined,
              },
            ],
            unknownTaggedFields: undefined,
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
        unknownTaggedFields: undefined,
      },
    );
  });

  test('AddPartitionsToTxn v2 (classic encoding of a common struct also used by flexible versions)', () => {
    assert.equal(AddPartitionsToTxn.requestHeaderVersion(2), 1);
    const expected = [
      0x00, 0x00, 0x00, 0x2f, //                   size = 47
      ...headerV1(24, 2, 3), //                     key 24, v2, correlation 3, "mka" (header v1: no tag buffer)
      0x00, 0x02, ...ascii('tx'), //                transactional_id STRING "tx"
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, // producer_id INT64 1000
      0x00, 0x02, //                                producer_epoch INT16 2
      0x00, 0x00, 0x00, 0x01, //                    topics ARRAY: 1 element (int32 count)
      0x00, 0x02, ...ascii('t1'), //                name STRING "t1" (int16 length, not compact)
      0x00, 0x00, 0x00, 0x02, //                    partitions ARRAY: 2 elements
      0x00, 0x00, 0x00, 0x00, //                    0
      0x00, 0x00, 0x00, 0x01, //                    1
    ];
    checkRequest(
      AddPartitionsToTxn,
      2,
      3,
      { v3AndBelowTransactionalId: 'tx', v3AndBelowProducerId: 1000n, v3AndBelowProducerEpoch: 2, v3AndBelowTopics: [{ name: 't1', partitions: [0, 1] }] },
      expected,
      {
        transactions: [],
        v3AndBelowTransactionalId: 'tx',
        v3AndBelowProducerId: 1000n,
        v3AndBelowProducerEpoch: 2,
        v3AndBelowTopics: [{ name: 't1', partitions: [0, 1], unknownTaggedFields: undefined }],
        unknownTaggedFields: undefined,
      },
    );
  });
});

describe('responses, byte for byte', () => {
  // ApiVersions v3 response: response header v0 (correlation id only, no tag buffer) even though the body
  // is flexible — the one exception, so that a client can read the answer whatever version it asked.
  const response = [
    0x00, 0x00, 0x00, 0x07, //                     correlation_id INT32 7 (header v0: nothing else)
    0x00, 0x00, //                                 error_code INT16 0
    0x03, //                                       api_keys COMPACT_ARRAY: 2 elements
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x00, //    Produce: key 0, min 0, max 11, TAG_BUFFER
    0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00, //    ApiVersions: key 18, min 0, max 4, TAG_BUFFER
    0x00, 0x00, 0x00, 0x00, //                     throttle_time_ms INT32 0
    0x03, //                                       TAG_BUFFER: 3 tagged fields
    0x00, 0x14, //                                 tag 0 (supported_features), 20 bytes:
    0x02, //                                         COMPACT_ARRAY: 1 element
    0x0e, ...ascii('kraft.version'), //              name COMPACT_STRING (13 chars)
    0x00, 0x00, 0x00, 0x01, //                       min_version 0, max_version 1
    0x00, //                                         TAG_BUFFER
    0x01, 0x08, //                                 tag 1 (finalized_features_epoch), 8 bytes:
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, // INT64 3
    0x09, 0x02, 0xaa, 0xbb, //                     tag 9 (unknown to this schema), 2 bytes
  ];

  test('ApiVersions v3 response with the v0 response header', () => {
    assert.equal(ApiVersions.responseHeaderVersion(3), 0);
    const bytes = Uint8Array.from(response);
    const r = new ByteReader(bytes);
    assert.equal(readResponseCorrelation(r, ApiVersions as ApiCodec<unknown, unknown>, 3), 7);
    assert.equal(r.offset, 4, 'header v0 is the correlation id alone');
    const decoded = ApiVersions.decodeResponse(r, 3);
    assert.equal(r.offset, bytes.length);
    assert.deepStrictEqual(decoded, {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 11, unknownTaggedFields: undefined },
        { apiKey: 18, minVersion: 0, maxVersion: 4, unknownTaggedFields: undefined },
      ],
      throttleTimeMs: 0,
      supportedFeatures: [{ name: 'kraft.version', minVersion: 0, maxVersion: 1, unknownTaggedFields: undefined }],
      finalizedFeaturesEpoch: 3n,
      finalizedFeatures: [],
      zkMigrationReady: false,
      unknownTaggedFields: [{ tag: 9, data: Uint8Array.from([0xaa, 0xbb]) }],
    });
    // And back: the body re-encodes to the same bytes, the unknown tag in its place.
    const w = new ByteWriter();
    ApiVersions.encodeResponse(w, 3, decoded);
    assert.equal(hex([...w.finish()]), hex(response.slice(4)));
  });

  test('a v1 (flexible) response header would misread it: the exception matters', () => {
    // Reading a tag buffer after the correlation id consumes error_code's first byte, so the body is off.
    const r = new ByteReader(Uint8Array.from(response));
    r.int32();
    r.uvarint();
    assert.throws(() => ApiVersions.decodeResponse(r, 3), ProtocolDecodeError);
  });

  test('Metadata v12 response header is v1 (correlation id + tag buffer)', () => {
    assert.equal(Metadata.responseHeaderVersion(12), 1);
    const r = new ByteReader(Uint8Array.from([0x00, 0x00, 0x01, 0x00, 0x00]));
    assert.equal(readResponseCorrelation(r, Metadata as ApiCodec<unknown, unknown>, 12), 256);
    assert.equal(r.offset, 5);
  });
});
