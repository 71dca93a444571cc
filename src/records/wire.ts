/**
 * Strict protobuf wire-format checks, driven by the generated descriptors.
 *
 * `@bufbuild/protobuf`'s decoder is lenient by design: it reads a known field
 * with whatever wire type it finds (a varint field sent as length-delimited is
 * read as its length, and the rest parsed as garbage), drops out-of-range
 * values of closed enums into unknown fields, and replaces bad UTF-8. For
 * on-disk records that feed a repair tool, each of those would turn a corrupt
 * record into a plausible wrong one. So every record is first walked here,
 * against its descriptor, and anything a careful decoder would not accept
 * becomes {@link ErrMalformedRecord} with the record name and byte offset;
 * only then does the library decode it.
 *
 * Also home of the raw field scanner used to splice fields out of encoded
 * bytes without re-encoding them (the snapshot header checksum).
 */
// Types only: this module is on the verify path (snapshot headers, lite.ts), which must not load the
// protobuf runtime. ScalarType's values are protobuf's own field type numbers (descriptor.proto).
import type { DescField, DescMessage, ScalarType } from '@bufbuild/protobuf';
import { ErrMalformedRecord } from '../errors.js';

/** Protobuf wire types. */
export const WireType = {
  Varint: 0,
  Bit64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Bit32: 5,
} as const;

/** Deepest nesting of unknown groups we skip before calling the record malformed. */
const MAX_DEPTH = 32;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;
const UINT32_MAX = 0xffffffffn;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `ScalarType` values used here (FieldDescriptorProto.Type numbers). */
const Scalar = { DOUBLE: 1, FLOAT: 2, FIXED64: 6, FIXED32: 7, STRING: 9, BYTES: 12, UINT32: 13, SFIXED32: 15, SFIXED64: 16 } as const;

/** Builds the error every malformed-input path throws. */
export function malformed(record: string, offset: number, what: string): ErrMalformedRecord {
  return new ErrMalformedRecord(`malformed ${record} record at byte ${offset}: ${what}; the record is corrupt or not a ${record}`, {
    record,
    offset,
  });
}

/** A varint read from `bytes` and the position after it. */
export interface Varint {
  value: bigint;
  next: number;
}

/**
 * Reads one base-128 varint at `pos`, rejecting truncation, more than ten
 * bytes, and a tenth byte that overflows 64 bits (as Go's protowire does).
 */
export function readVarint(bytes: Uint8Array, pos: number, end: number, record: string): Varint {
  // Fast path: values below 2^28 (tags, lengths, most fields) without bigint.
  let small = 0;
  for (let i = 0; i < 4; i++) {
    if (pos + i >= end) throw malformed(record, pos, 'varint runs past the end');
    const b = bytes[pos + i]!;
    small |= (b & 0x7f) << (7 * i);
    if (b < 0x80) return { value: BigInt(small >>> 0), next: pos + i + 1 };
  }
  let value = BigInt(small >>> 0);
  for (let i = 4; i < 10; i++) {
    if (pos + i >= end) throw malformed(record, pos, 'varint runs past the end');
    const b = bytes[pos + i]!;
    if (i === 9 && b > 1) throw malformed(record, pos, 'varint overflows 64 bits');
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) return { value, next: pos + i + 1 };
  }
  throw malformed(record, pos, 'varint longer than 10 bytes');
}

/** One top-level field of an encoded message, located but not interpreted. */
export interface RawField {
  fieldNumber: number;
  wireType: number;
  /** Offset of the tag's first byte. */
  start: number;
  /** Offset of the value (for length-delimited: of the payload, after the length). */
  valueStart: number;
  /** Offset just past the field. */
  end: number;
}

/** Reads the tag at `pos` and checks its field number and wire type are possible at all. */
function readTag(bytes: Uint8Array, pos: number, end: number, record: string): { fieldNumber: number; wireType: number; next: number } {
  const tag = readVarint(bytes, pos, end, record);
  if (tag.value > 0xffffffffn) throw malformed(record, pos, 'tag does not fit 32 bits');
  const wireType = Number(tag.value & 7n);
  const fieldNumber = Number(tag.value >> 3n);
  if (fieldNumber === 0 || fieldNumber > MAX_FIELD_NUMBER) {
    throw malformed(record, pos, `invalid field number ${fieldNumber}`);
  }
  if (wireType > 5) throw malformed(record, pos, `invalid wire type ${wireType}`);
  return { fieldNumber, wireType, next: tag.next };
}

/**
 * Skips the value of a field with `wireType` starting at `pos`; returns the
 * value start (after a length prefix) and the end. Groups are skipped
 * recursively, bounded by {@link MAX_DEPTH}.
 */
function skipValue(
  bytes: Uint8Array,
  pos: number,
  end: number,
  fieldNumber: number,
  wireType: number,
  record: string,
  depth: number,
): { valueStart: number; end: number } {
  switch (wireType) {
    case WireType.Varint:
      return { valueStart: pos, end: readVarint(bytes, pos, end, record).next };
    case WireType.Bit64:
      if (pos + 8 > end) throw malformed(record, pos, 'fixed64 value runs past the end');
      return { valueStart: pos, end: pos + 8 };
    case WireType.Bit32:
      if (pos + 4 > end) throw malformed(record, pos, 'fixed32 value runs past the end');
      return { valueStart: pos, end: pos + 4 };
    case WireType.LengthDelimited: {
      const len = readVarint(bytes, pos, end, record);
      if (len.value > BigInt(end - len.next)) {
        throw malformed(record, pos, `length ${len.value} runs past the end (${end - len.next} bytes left)`);
      }
      return { valueStart: len.next, end: len.next + Number(len.value) };
    }
    case WireType.StartGroup: {
      if (depth >= MAX_DEPTH) throw malformed(record, pos, 'groups nested too deeply');
      let p = pos;
      for (;;) {
        if (p >= end) throw malformed(record, pos, `group ${fieldNumber} has no end`);
        const tag = readTag(bytes, p, end, record);
        if (tag.wireType === WireType.EndGroup) {
          if (tag.fieldNumber !== fieldNumber) throw malformed(record, p, `end of group ${tag.fieldNumber} inside group ${fieldNumber}`);
          return { valueStart: pos, end: tag.next };
        }
        p = skipValue(bytes, tag.next, end, tag.fieldNumber, tag.wireType, record, depth + 1).end;
      }
    }
    default:
      throw malformed(record, pos, `unexpected end-group tag for field ${fieldNumber}`);
  }
}

/** Reads the field (tag and value) at `pos`, validating only its framing. */
export function skipField(bytes: Uint8Array, pos: number, end: number, record: string): RawField {
  const tag = readTag(bytes, pos, end, record);
  const v = skipValue(bytes, tag.next, end, tag.fieldNumber, tag.wireType, record, 0);
  return { fieldNumber: tag.fieldNumber, wireType: tag.wireType, start: pos, valueStart: v.valueStart, end: v.end };
}

/**
 * Lists the top-level fields of an encoded message in order, validating only
 * the framing (tags, varints, lengths). Used to splice a field out of raw
 * bytes without re-encoding them.
 */
export function scanFields(bytes: Uint8Array, record: string): RawField[] {
  const fields: RawField[] = [];
  let pos = 0;
  const end = bytes.length;
  while (pos < end) {
    const tag = readTag(bytes, pos, end, record);
    const v = skipValue(bytes, tag.next, end, tag.fieldNumber, tag.wireType, record, 0);
    fields.push({ fieldNumber: tag.fieldNumber, wireType: tag.wireType, start: pos, valueStart: v.valueStart, end: v.end });
    pos = v.end;
  }
  return fields;
}

function wireTypeOfScalar(t: ScalarType): number {
  switch (t) {
    case Scalar.STRING:
    case Scalar.BYTES:
      return WireType.LengthDelimited;
    case Scalar.DOUBLE:
    case Scalar.FIXED64:
    case Scalar.SFIXED64:
      return WireType.Bit64;
    case Scalar.FLOAT:
    case Scalar.FIXED32:
    case Scalar.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

const wireTypeName = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

/** What a value on the wire must look like, derived from a descriptor field. */
type ValueKind =
  | { kind: 'scalar'; scalar: ScalarType }
  | { kind: 'enum'; name: string; values: ReadonlySet<number> }
  | { kind: 'message'; desc: DescMessage };

function valueKindOf(field: DescField): ValueKind {
  switch (field.fieldKind) {
    case 'scalar':
      return { kind: 'scalar', scalar: field.scalar };
    case 'enum':
      return { kind: 'enum', name: field.enum.name, values: new Set(field.enum.values.map((v) => v.number)) };
    case 'message':
      return { kind: 'message', desc: field.message };
    case 'list':
      if (field.listKind === 'message') return { kind: 'message', desc: field.message };
      if (field.listKind === 'enum') {
        return { kind: 'enum', name: field.enum.name, values: new Set(field.enum.values.map((v) => v.number)) };
      }
      return { kind: 'scalar', scalar: field.scalar };
    case 'map':
      // Map fields are walked entry by entry in validateMessage, never here.
      throw new Error('unreachable: map field');
  }
}

function expectedWireType(k: ValueKind): number {
  if (k.kind === 'scalar') return wireTypeOfScalar(k.scalar);
  if (k.kind === 'enum') return WireType.Varint;
  return WireType.LengthDelimited;
}

/** Checks one value (already framed by `skipValue`) against what its field expects. */
function checkValue(
  bytes: Uint8Array,
  wireType: number,
  valueStart: number,
  end: number,
  k: ValueKind,
  what: string,
  record: string,
  tagAt: number,
): void {
  const want = expectedWireType(k);
  if (wireType !== want) {
    throw malformed(record, tagAt, `${what} has wire type ${wireTypeName[wireType]}, expected ${wireTypeName[want]}`);
  }
  if (k.kind === 'message') {
    validateMessage(k.desc, bytes, valueStart, end, record);
    return;
  }
  if (k.kind === 'enum') {
    const v = readVarint(bytes, valueStart, end, record).value;
    // Closed (proto2) enums: the library would silently turn an unknown value
    // into "unset", and re-encoding would then change the record. None of our
    // enums has negative values, so anything above int32 max is unknown too.
    if (v > 0x7fffffffn || !k.values.has(Number(v))) {
      throw malformed(record, valueStart, `${what} value ${v} is not a known ${k.name}`);
    }
    return;
  }
  if (k.scalar === Scalar.UINT32) {
    const v = readVarint(bytes, valueStart, end, record).value;
    if (v > UINT32_MAX) throw malformed(record, valueStart, `${what} value ${v} does not fit uint32`);
  } else if (k.scalar === Scalar.STRING) {
    try {
      utf8.decode(bytes.subarray(valueStart, end));
    } catch {
      throw malformed(record, valueStart, `${what} is not valid UTF-8`);
    }
  }
}

/** Validates a map entry message: key = field 1, value = field 2, anything else skipped. */
function validateMapEntry(field: DescField & { fieldKind: 'map' }, bytes: Uint8Array, start: number, end: number, record: string): void {
  const keyKind: ValueKind = { kind: 'scalar', scalar: field.mapKey };
  const valueKind: ValueKind =
    field.mapKind === 'scalar'
      ? { kind: 'scalar', scalar: field.scalar }
      : field.mapKind === 'enum'
        ? { kind: 'enum', name: field.enum.name, values: new Set(field.enum.values.map((v) => v.number)) }
        : { kind: 'message', desc: field.message };
  let pos = start;
  while (pos < end) {
    const tag = readTag(bytes, pos, end, record);
    const v = skipValue(bytes, tag.next, end, tag.fieldNumber, tag.wireType, record, 0);
    if (tag.fieldNumber === 1) checkValue(bytes, tag.wireType, v.valueStart, v.end, keyKind, `${field.name} key`, record, pos);
    else if (tag.fieldNumber === 2) checkValue(bytes, tag.wireType, v.valueStart, v.end, valueKind, `${field.name} value`, record, pos);
    pos = v.end;
  }
}

/**
 * Validates `bytes[start..end)` as an encoding of `desc`: framing, wire types
 * of known fields, uint32 range, closed-enum values, UTF-8 of strings, and
 * nested messages and map entries recursively. Unknown fields are skipped.
 * Offsets in errors are relative to `bytes`.
 */
export function validateMessage(desc: DescMessage, bytes: Uint8Array, start: number, end: number, record: string): void {
  let pos = start;
  while (pos < end) {
    const tag = readTag(bytes, pos, end, record);
    const v = skipValue(bytes, tag.next, end, tag.fieldNumber, tag.wireType, record, 0);
    const field = desc.fields.find((f) => f.number === tag.fieldNumber);
    if (field !== undefined) {
      const what = `field ${tag.fieldNumber} (${desc.name}.${field.name})`;
      if (field.fieldKind === 'map') {
        if (tag.wireType !== WireType.LengthDelimited) {
          throw malformed(record, pos, `${what} has wire type ${wireTypeName[tag.wireType]}, expected length-delimited`);
        }
        validateMapEntry(field, bytes, v.valueStart, v.end, record);
      } else {
        checkValue(bytes, tag.wireType, v.valueStart, v.end, valueKindOf(field), what, record, pos);
      }
    }
    pos = v.end;
  }
}
