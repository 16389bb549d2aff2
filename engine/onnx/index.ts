export { GraphBuilder, OPSET, IR_VERSION, MS_DOMAIN, type AttrValue, type BuilderOptions, type Dim, type Ep, type OpOptions } from './builder.ts';
export { DataType, Msg, varint, type ElemType } from './proto.ts';
export { createSession, runFloat, sessionFor, sessionOptions, type SessionOptions } from './session.ts';
