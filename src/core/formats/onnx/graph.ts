/**
 * The graph tree of an ONNX model with wire positions: every GraphProto (main graph and If/Loop/Scan
 * bodies at any depth) with the byte ranges of its nodes, initializers and inputs, so that the writer can
 * splice only what changes.
 */
import { readFields, type WireField } from '../../proto/wire';
import type { AttributeP, GraphP, NodeP } from './schema';

export interface SubgraphRef {
  /** index of the attribute among the node's attribute fields */
  attrIndex: number;
  attrName: string;
  /** 'g' (field 6) or the k-th entry of 'graphs' (field 11) */
  slot: { kind: 'g' } | { kind: 'graphs'; k: number };
  graph: GraphRec;
}

export interface GraphRec {
  /** '' for the main graph, else e.g. `If_0.then_branch` or `Loop_3.body/If_1.else_branch` */
  path: string;
  decoded: GraphP;
  /** GraphProto payload (a view into the model bytes) */
  bytes: Uint8Array;
  fields: WireField[];
  nodeFields: WireField[];
  initFields: WireField[];
  sparseFields: WireField[];
  inputFields: WireField[];
  /** subgraphs per node index */
  subgraphs: Map<number, SubgraphRef[]>;
  parent?: GraphRec;
  /** names this graph defines (inputs, initializers, node outputs) */
  defines: Set<string>;
}

export function nodeLabel(n: NodeP, i: number): string {
  return n.name ? n.name : `${n.op_type ?? 'node'}#${i}`;
}

export function buildGraph(bytes: Uint8Array, decoded: GraphP, path: string, parent?: GraphRec): GraphRec {
  const fields = readFields(bytes);
  const g: GraphRec = {
    path,
    decoded,
    bytes,
    fields,
    nodeFields: fields.filter((f) => f.no === 1),
    initFields: fields.filter((f) => f.no === 5),
    sparseFields: fields.filter((f) => f.no === 15),
    inputFields: fields.filter((f) => f.no === 11),
    subgraphs: new Map(),
    parent,
    defines: new Set(),
  };
  for (const v of decoded.input ?? []) if (v.name) g.defines.add(v.name);
  for (const t of decoded.initializer ?? []) if (t.name) g.defines.add(t.name);
  for (const s of decoded.sparse_initializer ?? []) if (s.values?.name) g.defines.add(s.values.name);
  const nodes = decoded.node ?? [];
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) g.defines.add(o);
    const attrs = n.attribute ?? [];
    if (!attrs.some((a) => a.g || (a.graphs && a.graphs.length))) return;
    const nf = g.nodeFields[i];
    const nodeBytes = bytes.subarray(nf.dataStart, nf.dataEnd);
    const attrFields = readFields(nodeBytes).filter((f) => f.no === 5);
    const refs: SubgraphRef[] = [];
    attrs.forEach((a: AttributeP, j) => {
      if (!a.g && !(a.graphs && a.graphs.length)) return;
      const af = attrFields[j];
      const ab = nodeBytes.subarray(af.dataStart, af.dataEnd);
      const aFields = readFields(ab);
      const base = `${path ? path + '/' : ''}${nodeLabel(n, i)}.${a.name ?? 'attr' + j}`;
      if (a.g) {
        const f = aFields.find((x) => x.no === 6)!;
        refs.push({ attrIndex: j, attrName: a.name ?? '', slot: { kind: 'g' }, graph: buildGraph(ab.subarray(f.dataStart, f.dataEnd), a.g, base, g) });
      }
      const gs = aFields.filter((x) => x.no === 11);
      (a.graphs ?? []).forEach((sg, k) => {
        const f = gs[k];
        refs.push({
          attrIndex: j,
          attrName: a.name ?? '',
          slot: { kind: 'graphs', k },
          graph: buildGraph(ab.subarray(f.dataStart, f.dataEnd), sg, `${base}[${k}]`, g),
        });
      });
    });
    g.subgraphs.set(i, refs);
  });
  return g;
}

export function* allGraphs(g: GraphRec): Generator<GraphRec> {
  yield g;
  for (const refs of g.subgraphs.values()) for (const r of refs) yield* allGraphs(r.graph);
}

export interface Use {
  graph: GraphRec;
  nodeIndex: number;
  inputIndex: number;
}

/**
 * Uses of each name by the nodes of `g` and, for names a subgraph does not define itself, by the nodes of its
 * subgraphs (outer-scope references), at any depth. `skip` lists node indices to ignore per graph.
 */
export function collectUses(g: GraphRec, skip: Map<GraphRec, Set<number>>): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  const add = (name: string, u: Use) => {
    let l = uses.get(name);
    if (!l) uses.set(name, (l = []));
    l.push(u);
  };
  const sk = skip.get(g);
  (g.decoded.node ?? []).forEach((n, i) => {
    if (sk?.has(i)) return;
    (n.input ?? []).forEach((name, k) => {
      if (name) add(name, { graph: g, nodeIndex: i, inputIndex: k });
    });
    for (const r of g.subgraphs.get(i) ?? []) {
      for (const [name, list] of collectUses(r.graph, skip)) {
        if (r.graph.defines.has(name)) continue;
        for (const u of list) add(name, u);
      }
    }
  });
  return uses;
}

/** Every name used anywhere (tensors, nodes, graphs), for picking fresh names. */
export function allNames(g: GraphRec, out = new Set<string>()): Set<string> {
  for (const x of allGraphs(g)) {
    for (const n of x.defines) out.add(n);
    for (const n of x.decoded.node ?? []) {
      if (n.name) out.add(n.name);
      for (const i of n.input ?? []) out.add(i);
    }
    for (const o of x.decoded.output ?? []) if (o.name) out.add(o.name);
  }
  return out;
}
