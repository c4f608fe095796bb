#!/usr/bin/python3
"""Small Hugging Face checkpoints in each BitNet family's exact layout, with float64 reference logits.

No model hub is reachable here, so this script builds the checkpoints `bitlm convert` reads: config.json,
model.safetensors (or shards + model.safetensors.index.json), tokenizer.json / tokenizer.model,
tokenizer_config.json, generation_config.json -- all written by hand (the formats are small and
documented) following the rules ../shared/docs/FORMATS.md section 2 cites:

  bitnet-2b4t       BitNetForCausalLM, packed uint8 + bf16 weight_scale, autobitlinear (W = codes * scale),
                    relu2 FFN, attn_sub_norm / ffn_sub_norm, tied head, GQA, Llama-3-style byte-level BPE
  bitnet-2b4t-bf16  the same family's bf16 master (latent) weights, quantization_mode online: absmean
                    ternarized (003 eq. 3-5: s = mean|W|, W_q = clamp(round(W / s), -1, 1) * s)
  1bitllm           BitnetForCausalLM (model_type llama), fp16 latent weights, SiLU, sub-norms named
                    inner_attn_ln / ffn_layernorm, untied head, MHA, SentencePiece tokenizer.model
  llama3-1.58       HF1BitLLM: LlamaForCausalLM, packed, quant_method bitnet -> BitLinear (W = codes / scale),
                    no sub-norms, untied bf16 lm_head, GQA, sharded into 2 files
  falcon3-1.58      Falcon3: LlamaForCausalLM, packed bitlinear, head_dim != hidden / heads, GQA 4 kv heads
                    of 8... (scaled down), untied head, modules_to_not_convert [lm_head]

Each folder gets reference.json: the prompt token ids, float64 logits at every prompt position
(float activations: compare with bitlm --act none) and the greedy continuation with each step's
top-2 margin. The forward is written here independently of bitlm (HF rotate_half RoPE, GQA,
RMSNorm, relu2/SiLU gating, sub-norm before o_proj / down_proj).

  /usr/bin/python3 tools/reference/hf_fixtures.py --out tests/data/hf
  /usr/bin/python3 tools/reference/hf_fixtures.py --big /work/scratch/bitnet-2b4t-hf   # 2.4 B, 2 shards

Regenerate only on purpose, and say so in the commit message.
"""
import argparse
import json
import math
import os
import struct

import numpy as np
import torch

TEXT = ("Once upon a time there was a little girl named Lily. She liked to play in the park with her "
        "friends. One day the sun was hot and the sky was blue, so they went to the lake to swim. "
        "The water was cold but they had fun, and then they went home to eat and sleep.")


# ---------------------------------------------------------------------------------------------- files

def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype string, shape, raw bytes), in order."""
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head)
        for _, (_, _, blob) in tensors.items():
            f.write(blob)


def blob(t, dtype):
    """A torch tensor as safetensors bytes of `dtype` (F32, F16, BF16, U8)."""
    t = t.contiguous()
    if dtype == "F32":
        return t.to(torch.float32).numpy().tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().tobytes()
    if dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().tobytes()
    if dtype == "U8":
        return t.to(torch.uint8).numpy().tobytes()
    raise ValueError(dtype)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


# ------------------------------------------------------------------------------------------ tokenizers

def gpt2_byte_map():
    """GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def learn_bpe(words, n_merges):
    """Plain BPE over symbol lists: the most frequent adjacent pair (ties: first seen) merges next."""
    words = [list(w) for w in words]
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w in words:
            for a, b in zip(w, w[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + 1
        if not counts:
            break
        best = max(counts, key=lambda p: counts[p])
        merges.append(best)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if (w[i], w[i + 1]) == best:
                    w[i:i + 2] = [w[i] + w[i + 1]]
                i += 1
    return merges


LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
BITNET_CHAT_TEMPLATE = ("{% for message in messages %}{% if loop.index0 == 0 %}{{ bos_token }}{% endif %}"
                        "{{ message['role'] | capitalize }}: {{ message['content'] | trim }}<|eot_id|>{% endfor %}"
                        "{% if add_generation_prompt %}Assistant: {% endif %}")


def byte_level_tokenizer(n_vocab, n_merges=None):
    """A Llama-3-style tokenizer.json: 256 byte tokens, merges learned on TEXT, then the specials.
    n_merges None: fill the vocab; 0 with a larger n_vocab: filler tokens, no merges (a byte tokenizer)."""
    bm = gpt2_byte_map()
    vocab = {bm[b]: b for b in range(256)}
    n_free = n_vocab - 256 - len(LLAMA3_SPECIALS)
    merges = learn_bpe(["".join(bm[c] for c in (" " + w).encode()) for w in TEXT.split(" ")],
                       n_free if n_merges is None else n_merges)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    filler = 0
    while len(vocab) < n_vocab - len(LLAMA3_SPECIALS):
        vocab["".join(bm[c] for c in f"<filler{filler}>".encode())] = len(vocab)
        filler += 1
    specials = [{"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                 "normalized": False, "special": True} for i, s in enumerate(LLAMA3_SPECIALS)]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": specials, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [], "special_tokens": {}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    bos = len(vocab)
    return tok, bos, bos + 1, bos + 2


def pb_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_field(num, wire, payload):
    key = pb_varint((num << 3) | wire)
    if wire == 2:
        return key + pb_varint(len(payload)) + payload
    return key + payload


def spm_tokenizer_model(n_vocab):
    """A LLaMA-2-style SentencePiece BPE model (protobuf ModelProto written by hand): <unk> <s> </s>,
    the 256 <0xNN> byte pieces, then pieces learned on TEXT ('▁' for spaces) with score -rank."""
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    pieces += [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
    merges = learn_bpe(["▁" + w for w in TEXT.split(" ")], 400)
    seen = set(p[0] for p in pieces)
    for c in sorted(set("▁" + TEXT.replace(" ", "▁"))):  # single characters first, as spm lists them
        if len(pieces) < n_vocab and c not in seen:
            pieces.append((c, -float(len(pieces)), 1))
            seen.add(c)
    for a, b in merges:
        if len(pieces) >= n_vocab:
            break
        if a + b not in seen:
            pieces.append((a + b, -float(len(pieces)), 1))
            seen.add(a + b)
    assert len(pieces) == n_vocab, len(pieces)
    model = b""
    for text, score, typ in pieces:
        sp = pb_field(1, 2, text.encode()) + pb_field(2, 5, struct.pack("<f", score)) + pb_field(3, 0, pb_varint(typ))
        model += pb_field(1, 2, sp)
    trainer = pb_field(3, 0, pb_varint(2)) + pb_field(40, 0, pb_varint(0)) + pb_field(41, 0, pb_varint(1)) + \
        pb_field(42, 0, pb_varint(2))  # model_type BPE, unk/bos/eos ids
    normalizer = pb_field(1, 2, b"identity") + pb_field(3, 0, pb_varint(1)) + pb_field(4, 0, pb_varint(0))
    return model + pb_field(2, 2, trainer) + pb_field(3, 2, normalizer)


# ----------------------------------------------------------------------------------------- weights

def pack_weights(codes):
    """transformers integrations/bitnet.py pack_weights: ternary [out, in] -> uint8 [out/4, in]; slab i
    (rows i*R .. i*R+R-1) in bits 2i..2i+1, stored code = w + 1."""
    out = codes.shape[0]
    assert out % 4 == 0
    r = out // 4
    u = (codes + 1).to(torch.uint8)
    packed = torch.zeros((r, codes.shape[1]), dtype=torch.uint8)
    for i in range(4):
        packed |= u[i * r:(i + 1) * r] << (2 * i)
    return packed


def absmean_ternary(w):
    """003 eq. 3-5 (1bitLLM utils_quant.weight_quant): s = mean|W|, codes = clamp(round(W / s), -1, 1)."""
    s = w.double().abs().mean().clamp(min=1e-5)
    return (w.double() / s).round().clamp(-1, 1), s


def decode(raw, dtype):
    """safetensors bytes of F32 / F16 / BF16 -> float64 tensor (1-D)."""
    if dtype == "BF16":
        v = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
    else:
        v = np.frombuffer(raw, dtype=np.float16 if dtype == "F16" else np.float32)
    return torch.from_numpy(v.astype(np.float64))


class Family:
    def __init__(self, name, **kw):
        self.name = name
        self.__dict__.update(kw)


FAMILIES = [
    Family("bitnet-2b4t", hf_arch="BitNetForCausalLM", model_type="bitnet", act="relu2", sub="bitnet",
           weights="packed-auto", tied=True, D=64, F=128, L=2, H=4, Hkv=2, Dh=16, V=320, theta=500000.0,
           eps=1e-5, ctx=256, tokenizer="bpe", shards=1),
    Family("bitnet-2b4t-bf16", hf_arch="BitNetForCausalLM", model_type="bitnet", act="relu2", sub="bitnet",
           weights="latent-bf16", tied=True, D=64, F=128, L=2, H=4, Hkv=2, Dh=16, V=320, theta=500000.0,
           eps=1e-5, ctx=256, tokenizer="bpe", shards=1),
    Family("1bitllm", hf_arch="BitnetForCausalLM", model_type="llama", act="silu", sub="1bitllm",
           weights="latent-f16", tied=False, D=64, F=128, L=2, H=4, Hkv=4, Dh=16, V=320, theta=10000.0,
           eps=1e-5, ctx=256, tokenizer="spm", shards=1),
    Family("llama3-1.58", hf_arch="LlamaForCausalLM", model_type="llama", act="silu", sub=None,
           weights="packed-bitlinear", tied=False, D=64, F=128, L=2, H=4, Hkv=2, Dh=16, V=320, theta=500000.0,
           eps=1e-5, ctx=256, tokenizer="bpe", shards=2),
    Family("falcon3-1.58", hf_arch="LlamaForCausalLM", model_type="llama", act="silu", sub=None,
           weights="packed-bitlinear", tied=False, D=64, F=128, L=2, H=4, Hkv=2, Dh=32, V=320, theta=1000042.0,
           eps=1e-6, ctx=256, tokenizer="bpe", shards=1),
]

SUB_NAMES = {"bitnet": ("self_attn.attn_sub_norm", "mlp.ffn_sub_norm"),
             "1bitllm": ("self_attn.inner_attn_ln", "mlp.ffn_layernorm")}


def config_json(f):
    c = {"architectures": [f.hf_arch], "model_type": f.model_type, "hidden_size": f.D, "intermediate_size": f.F,
         "num_hidden_layers": f.L, "num_attention_heads": f.H, "num_key_value_heads": f.Hkv, "hidden_act": f.act,
         "rms_norm_eps": f.eps, "rope_theta": f.theta, "max_position_embeddings": f.ctx, "vocab_size": f.V,
         "tie_word_embeddings": f.tied, "torch_dtype": "bfloat16" if f.weights != "latent-f16" else "float16"}
    if f.Dh != f.D // f.H:
        c["head_dim"] = f.Dh
    if f.weights == "packed-auto":
        c["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                    "quantization_mode": "offline"}
    elif f.weights == "latent-bf16":
        c["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                    "quantization_mode": "online"}
    elif f.weights == "packed-bitlinear":
        c["quantization_config"] = {"quant_method": "bitnet", "modules_to_not_convert": ["lm_head"]}
        if f.name.startswith("falcon"):
            c["is_bitnet_config"] = True
    return c


def make_weights(f, gen):
    """Returns (tensors for the safetensors files: name -> (dtype, shape, bytes), effective float64 weights)."""
    out, eff = {}, {}

    def stored(name, t, dtype):
        """Writes t as dtype; the reference uses exactly the stored (rounded) values."""
        out[name] = (dtype, tuple(t.shape), blob(t, dtype))
        eff[name] = decode(out[name][2], dtype).reshape(t.shape)

    def dense(name, shape, dtype, std=1.0):
        stored(name, torch.randn(shape, generator=gen) * std, dtype)

    def norm(name, n):
        stored(name, 1.0 + 0.2 * torch.randn((n,), generator=gen), "F16" if f.weights == "latent-f16" else "BF16")

    def linear(name, rows, cols):
        if f.weights.startswith("packed"):
            codes = torch.randint(-1, 2, (rows, cols), generator=gen)
            scale = torch.tensor([1.0 + torch.rand((1,), generator=gen).item()])
            sb = float(scale.to(torch.bfloat16).float())
            out[name] = ("U8", (rows // 4, cols), blob(pack_weights(codes), "U8"))
            out[name + "_scale"] = ("BF16", (1,), blob(scale, "BF16"))
            # autobitlinear multiplies by weight_scale, bitlinear divides (FORMATS.md 2a/2b).
            eff[name] = codes.double() * sb if f.weights == "packed-auto" else codes.double() / sb
        else:
            dt = "BF16" if f.weights == "latent-bf16" else "F16"
            dense(name, (rows, cols), dt)
            codes, s = absmean_ternary(eff[name])
            eff[name] = codes * s

    dense("model.embed_tokens.weight", (f.V, f.D), "F16" if f.weights == "latent-f16" else "BF16")
    q, kv = f.H * f.Dh, f.Hkv * f.Dh
    for l in range(f.L):
        p = f"model.layers.{l}."
        norm(p + "input_layernorm.weight", f.D)
        for n, (r, c) in {"q_proj": (q, f.D), "k_proj": (kv, f.D), "v_proj": (kv, f.D), "o_proj": (f.D, q)}.items():
            linear(p + f"self_attn.{n}.weight", r, c)
        if f.sub:
            norm(p + SUB_NAMES[f.sub][0] + ".weight", q)
        norm(p + "post_attention_layernorm.weight", f.D)
        for n, (r, c) in {"gate_proj": (f.F, f.D), "up_proj": (f.F, f.D), "down_proj": (f.D, f.F)}.items():
            linear(p + f"mlp.{n}.weight", r, c)
        if f.sub:
            norm(p + SUB_NAMES[f.sub][1] + ".weight", f.F)
    norm("model.norm.weight", f.D)
    if not f.tied:
        dense("lm_head.weight", (f.V, f.D), "F16" if f.weights == "latent-f16" else "BF16")
    return out, eff


# ------------------------------------------------------------------------------- direct GGUF twin

def write_gguf(path, kv, tensors):
    """A GGUF v3 file: kv = [(key, type, value)] with types u32 / f32 / bool / str / [str] / [i32];
    tensors = [(name, shape (PyTorch order), ggml type, bytes)]. 32-byte alignment."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b
    codes = {"u32": 4, "i32": 5, "f32": 6, "bool": 7, "str": 8}
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, typ, val in kv:
        out += s(key)
        if typ == "[str]":
            out += struct.pack("<IIQ", 9, 8, len(val)) + b"".join(s(v) for v in val)
        elif typ == "[i32]":
            out += struct.pack("<IIQ", 9, 5, len(val)) + struct.pack(f"<{len(val)}i", *val)
        else:
            out += struct.pack("<I", codes[typ])
            out += {"u32": lambda: struct.pack("<I", val), "i32": lambda: struct.pack("<i", val),
                    "f32": lambda: struct.pack("<f", val), "bool": lambda: struct.pack("<B", int(val)),
                    "str": lambda: s(val)}[typ]()
    offset = 0
    for name, shape, gtype, data in tensors:
        out += s(name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *reversed(shape))
        out += struct.pack("<IQ", gtype, offset)
        offset += len(data) + (-len(data) % 32)
    out += b"\0" * (-len(out) % 32)
    for _, _, _, data in tensors:
        out += data + b"\0" * (-len(data) % 32)
    with open(path, "wb") as f:
        f.write(out)


GGUF_NAMES = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
              "self_attn.v_proj": "attn_v", "self_attn.attn_sub_norm": "attn_sub_norm", "self_attn.o_proj": "attn_output",
              "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
              "mlp.ffn_sub_norm": "ffn_sub_norm", "mlp.down_proj": "ffn_down"}


def write_direct_gguf(f, tensors, eff, tok, bos, eos, path):
    """The 2B-4T fixture's weights written straight to GGUF (arch bitnet-b1.58) without bitlm: linear
    weights as F16 {-s, 0, +s} (exact: s is a bf16 value), which bitlm loads with the exact scale; the
    embedding's BF16 bytes as they are; norms F32. `bitlm convert` of the folder must generate the same text."""
    a = "bitnet-b1.58"
    kv = [("general.architecture", "str", a), (f"{a}.context_length", "u32", f.ctx), (f"{a}.embedding_length", "u32", f.D),
          (f"{a}.block_count", "u32", f.L), (f"{a}.feed_forward_length", "u32", f.F),
          (f"{a}.attention.head_count", "u32", f.H), (f"{a}.attention.head_count_kv", "u32", f.Hkv),
          (f"{a}.rope.freq_base", "f32", f.theta), (f"{a}.attention.layer_norm_rms_epsilon", "f32", f.eps),
          ("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "llama-bpe")]
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda p: p[1]) + \
        [(t["content"], t["id"]) for t in tok["added_tokens"]]
    kv += [("tokenizer.ggml.tokens", "[str]", [t for t, _ in vocab]),
           ("tokenizer.ggml.token_type", "[i32]", [3 if i >= bos else 1 for _, i in vocab]),
           ("tokenizer.ggml.merges", "[str]", tok["model"]["merges"]),
           ("tokenizer.ggml.bos_token_id", "u32", bos), ("tokenizer.ggml.eos_token_id", "u32", eos),
           ("tokenizer.ggml.add_bos_token", "bool", True)]
    out = [("token_embd.weight", (f.V, f.D), 30, tensors["model.embed_tokens.weight"][2]),
           ("output_norm.weight", (f.D,), 0, eff["model.norm.weight"].float().numpy().tobytes())]
    for l in range(f.L):
        for hf, gg in GGUF_NAMES.items():
            w = eff[f"model.layers.{l}.{hf}.weight"]
            is_norm = w.dim() == 1
            data = w.float().numpy().tobytes() if is_norm else w.half().numpy().tobytes()
            out.append((f"blk.{l}.{gg}.weight", tuple(w.shape), 0 if is_norm else 1, data))
    write_gguf(path, kv, out)


# -------------------------------------------------------------------------------- reference forward

def rms_norm(x, g, eps):
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope(x, pos, theta):
    """HF rotate_half: pairs (i, i + Dh/2). x: (T, H, Dh)."""
    dh = x.shape[-1]
    inv = 1.0 / theta ** (torch.arange(0, dh, 2, dtype=torch.float64) / dh)
    ang = pos[:, None].double() * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
    rot = torch.cat([-x[..., dh // 2:], x[..., : dh // 2]], -1)
    return x * cos + rot * sin


def forward(f, w, tokens, kv_f16=False):
    T = len(tokens)
    pos = torch.arange(T)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    for l in range(f.L):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], f.eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].t()).view(T, f.H, f.Dh)
        k = (h @ w[p + "self_attn.k_proj.weight"].t()).view(T, f.Hkv, f.Dh)
        v = (h @ w[p + "self_attn.v_proj.weight"].t()).view(T, f.Hkv, f.Dh)
        q, k = rope(q, pos, f.theta), rope(k, pos, f.theta)
        if kv_f16:  # K and V as an f16 KV cache stores them (bitlm's and llama.cpp's default)
            k, v = k.half().double(), v.half().double()
        g = f.H // f.Hkv
        k, v = k.repeat_interleave(g, 1), v.repeat_interleave(g, 1)
        s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(f.Dh)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        a = torch.einsum("hts,shd->thd", s.softmax(-1), v).reshape(T, f.H * f.Dh)
        if f.sub:
            a = rms_norm(a, w[p + SUB_NAMES[f.sub][0] + ".weight"], f.eps)  # before o_proj
        x = x + a @ w[p + "self_attn.o_proj.weight"].t()
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], f.eps)
        gate = h @ w[p + "mlp.gate_proj.weight"].t()
        up = h @ w[p + "mlp.up_proj.weight"].t()
        m = (torch.relu(gate).pow(2) if f.act == "relu2" else torch.nn.functional.silu(gate)) * up
        if f.sub:
            m = rms_norm(m, w[p + SUB_NAMES[f.sub][1] + ".weight"], f.eps)  # before down_proj
        x = x + m @ w[p + "mlp.down_proj.weight"].t()
    x = rms_norm(x, w["model.norm.weight"], f.eps)
    head = w["model.embed_tokens.weight"] if f.tied else w["lm_head.weight"]
    return x @ head.t()


# -------------------------------------------------------------------------------------------- main

def write_family(f, root, seed):
    d = os.path.join(root, f.name)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(seed)
    tensors, eff = make_weights(f, gen)
    write_json(os.path.join(d, "config.json"), {**config_json(f), "bos_token_id": None, "eos_token_id": None})
    if f.tokenizer == "bpe":
        tok, bos, eos, eot = byte_level_tokenizer(f.V)
        write_json(os.path.join(d, "tokenizer.json"), tok)
        tc = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>" if f.name.startswith("bitnet") else
              "<|end_of_text|>", "add_bos_token": True, "model_max_length": f.ctx,
              "tokenizer_class": "PreTrainedTokenizerFast"}
        if f.name.startswith("bitnet"):
            tc["chat_template"] = BITNET_CHAT_TEMPLATE
        eos_id = eot if f.name.startswith("bitnet") else eos
    else:
        with open(os.path.join(d, "tokenizer.model"), "wb") as fh:
            fh.write(spm_tokenizer_model(f.V))
        tc = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
              "add_eos_token": False, "tokenizer_class": "LlamaTokenizer"}
        bos, eos_id = 1, 2
    write_json(os.path.join(d, "tokenizer_config.json"), tc)
    cfg = json.load(open(os.path.join(d, "config.json")))
    cfg["bos_token_id"], cfg["eos_token_id"] = bos, eos_id
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "generation_config.json"), {"bos_token_id": bos, "eos_token_id": eos_id,
                                                            "do_sample": False})
    write_shards(d, tensors, f.shards)

    if f.name == "bitnet-2b4t":
        write_direct_gguf(f, tensors, eff, tok, bos, eos_id, os.path.join(root, f.name + ".direct.gguf"))

    tokens = [bos] + [int(t) for t in torch.randint(0, f.V - 3, (7,), generator=gen)]
    logits = forward(f, eff, tokens)
    logits_kv_f16 = forward(f, eff, tokens, kv_f16=True)
    greedy, margins, seq = [], [], list(tokens)
    for _ in range(8):
        last = forward(f, eff, seq)[-1]
        top = torch.topk(last, 2)
        greedy.append(int(top.indices[0]))
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(greedy[-1])
    write_json(os.path.join(d, "reference.json"), {
        "note": "float64 forward of tools/reference/hf_fixtures.py; logits[t] after tokens[0..t]; logits_kv_f16: "
                "K and V rounded to f16 as a KV cache stores them; greedy: 8 tokens after the prompt (logits)",
        "tokens": tokens, "logits": [[round(v, 7) for v in row.tolist()] for row in logits],
        "logits_kv_f16": [[round(v, 7) for v in row.tolist()] for row in logits_kv_f16],
        "greedy": greedy, "greedy_top2_margin": [round(m, 6) for m in margins]})


def write_shards(d, tensors, n_shards, metadata=None):
    names = list(tensors)
    if n_shards == 1:
        write_safetensors(os.path.join(d, "model.safetensors"), tensors, metadata or {"format": "pt"})
        return
    per = math.ceil(len(names) / n_shards)
    weight_map, total = {}, 0
    for s in range(n_shards):
        fname = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
        write_safetensors(os.path.join(d, fname), part, {"format": "pt"})
        for n, t in part.items():
            weight_map[n] = fname
            total += len(t[2])
    write_json(os.path.join(d, "model.safetensors.index.json"), {"metadata": {"total_size": total},
                                                                "weight_map": weight_map})


def write_big(d):
    """A 2B-4T-shaped packed checkpoint (2.4 B parameters, random ternary codes, bf16 embedding) in 2 shards,
    written tensor by tensor (one tensor in memory at a time)."""
    os.makedirs(d, exist_ok=True)
    f = Family("bitnet-2b4t", hf_arch="BitNetForCausalLM", model_type="bitnet", act="relu2", sub="bitnet",
               weights="packed-auto", tied=True, D=2560, F=6912, L=30, H=20, Hkv=5, Dh=128, V=128256,
               theta=500000.0, eps=1e-5, ctx=4096, tokenizer="bpe", shards=2)
    gen = torch.Generator().manual_seed(7)
    tok, bos, eos, eot = byte_level_tokenizer(f.V, n_merges=0)
    write_json(os.path.join(d, "tokenizer.json"), tok)
    write_json(os.path.join(d, "tokenizer_config.json"), {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
                                                          "chat_template": BITNET_CHAT_TEMPLATE})
    write_json(os.path.join(d, "config.json"), {**config_json(f), "bos_token_id": bos, "eos_token_id": eos})
    specs = [("model.embed_tokens.weight", "dense", (f.V, f.D))]
    q, kv = f.H * f.Dh, f.Hkv * f.Dh
    for l in range(f.L):
        p = f"model.layers.{l}."
        specs += [(p + "input_layernorm.weight", "norm", (f.D,))]
        specs += [(p + f"self_attn.{n}.weight", "lin", s) for n, s in
                  [("q_proj", (q, f.D)), ("k_proj", (kv, f.D)), ("v_proj", (kv, f.D)), ("o_proj", (f.D, q))]]
        specs += [(p + "self_attn.attn_sub_norm.weight", "norm", (q,)), (p + "post_attention_layernorm.weight", "norm", (f.D,))]
        specs += [(p + f"mlp.{n}.weight", "lin", s) for n, s in
                  [("gate_proj", (f.F, f.D)), ("up_proj", (f.F, f.D)), ("down_proj", (f.D, f.F))]]
        specs += [(p + "mlp.ffn_sub_norm.weight", "norm", (f.F,))]
    specs += [("model.norm.weight", "norm", (f.D,))]
    entries = []  # (name, dtype, shape, maker)
    for name, kind, shape in specs:
        if kind == "lin":
            entries.append((name, "U8", (shape[0] // 4, shape[1]), ("lin", shape)))
            entries.append((name + "_scale", "BF16", (1,), ("scale",)))
        else:
            entries.append((name, "BF16", shape, (kind, shape)))
    half = len(entries) // 2
    weight_map, total = {}, 0
    for s, part in enumerate([entries[:half], entries[half:]]):
        fname = f"model-{s + 1:05d}-of-00002.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, dtype, shape, _ in part:
            n = int(np.prod(shape)) * (1 if dtype == "U8" else 2)
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
            offset += n
            weight_map[name] = fname
        total += offset
        head = json.dumps(header, separators=(",", ":")).encode()
        head += b" " * (-len(head) % 8)
        with open(os.path.join(d, fname), "wb") as fh:
            fh.write(struct.pack("<Q", len(head)) + head)
            for name, dtype, shape, maker in part:
                if maker[0] == "lin":
                    fh.write(blob(pack_weights(torch.randint(-1, 2, maker[1], generator=gen, dtype=torch.int8)), "U8"))
                elif maker[0] == "scale":
                    fh.write(blob(torch.tensor([1.5]), "BF16"))
                elif maker[0] == "norm":
                    fh.write(blob(torch.ones(maker[1]), "BF16"))
                else:
                    fh.write(blob(torch.randn(maker[1], generator=gen) * 0.02, "BF16"))
    write_json(os.path.join(d, "model.safetensors.index.json"), {"metadata": {"total_size": total},
                                                                "weight_map": weight_map})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", help="folder for the small fixtures (tests/data/hf)")
    ap.add_argument("--big", help="folder for the 2.4 B-parameter 2B-4T-shaped checkpoint (never commit it)")
    args = ap.parse_args()
    if args.out:
        for i, f in enumerate(FAMILIES):
            write_family(f, args.out, 1000 + i)
    if args.big:
        write_big(args.big)


if __name__ == "__main__":
    main()
