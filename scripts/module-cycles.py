#!/usr/bin/env python3
"""Fails when two modules of one crate import each other in a cycle (other than a parent and its
own descendants, which may). Reads `crate::` and `super::` paths outside test modules.
Usage: python3 scripts/module-cycles.py SRC_DIR...  (each a crate's src/)"""
import os,re,sys,itertools
def modpath(root,f):
    rel=os.path.relpath(f,root)[:-3].split('/')
    if rel[-1] in('mod','lib','main'): rel=rel[:-1]
    return tuple(rel)
failed = False
for root in sys.argv[1:]:
    files=[os.path.join(d,f) for d,_,fs in os.walk(root) for f in fs if f.endswith('.rs')]
    mods={modpath(root,f):f for f in files}
    edges=set()
    for m,f in mods.items():
        src=open(f).read()
        src=re.split(r'#\[cfg\(test\)\]\s*mod tests',src)[0]
        for ref in re.findall(r'crate::((?:[a-z_]+::)*[a-z_]+)',src):
            parts=tuple(ref.split('::'))
            # longest prefix that is a module
            tgt=None
            for k in range(len(parts),0,-1):
                if parts[:k] in mods: tgt=parts[:k]; break
            if tgt and tgt!=m: edges.add((m,tgt))
        for ref in re.findall(r'super::((?:[a-z_]+::)*[a-z_]+)',src):
            base=m[:-1] if not f.endswith(('mod.rs','lib.rs')) else m[:-1]
            parts=base+tuple(ref.split('::'))
            for k in range(len(parts),0,-1):
                if parts[:k] in mods: 
                    if parts[:k]!=m: edges.add((m,parts[:k]))
                    break
    # find cycles of length 2+ between modules that are not ancestor/descendant
    def anc(a,b): return b[:len(a)]==a or a[:len(b)]==b
    import collections
    g=collections.defaultdict(set)
    for a,b in edges:
        if not anc(a,b): g[a].add(b)
    # SCC
    idx={};low={};st=[];on=set();out=[];c=[0]
    def sc(v):
        idx[v]=low[v]=c[0];c[0]+=1;st.append(v);on.add(v)
        for w in g[v]:
            if w not in idx: sc(w);low[v]=min(low[v],low[w])
            elif w in on: low[v]=min(low[v],idx[w])
        if low[v]==idx[v]:
            comp=[]
            while True:
                w=st.pop();on.discard(w);comp.append(w)
                if w==v:break
            if len(comp)>1: out.append(comp)
    sys.setrecursionlimit(10000)
    for v in list(g): 
        if v not in idx: sc(v)
    for comp in out:
        print(f"{root}: modules import each other in a cycle: {' <-> '.join('::'.join(x) or 'crate' for x in comp)}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
