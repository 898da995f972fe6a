export { ByteReader } from './byte-reader.ts';
export { ByteWriter, utf8Length } from './byte-writer.ts';
export { ZERO_UUID, uuidFromString, uuidToString } from './uuid.ts';
export { uvarintSize, varintSize, varlongSize, zigzag32, unzigzag32, zigzag64, unzigzag64 } from './varint.ts';
