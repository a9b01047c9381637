// The filter language: parse, print, and compile to SQL (DuckDB) or a JavaScript predicate.
export type { QueryNode, ValueLiteral, CompareOp, Span } from './syntax/ast.js';
export { parseQuery, stripSpans } from './syntax/parser.js';
export { printQuery, printValue } from './syntax/printer.js';
export { anyValue, compileJs, type Predicate } from './compile/js.js';
export { compileDuckDB, jsonPointer } from './compile/duckdb.js';
export { compileSql, likePattern, type SqlDialect, type SqlFragment } from './compile/dialect.js';
export { valuesOf, jsonPathValues } from './semantics.js';
