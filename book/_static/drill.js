/* The interview drill on the static site: a JavaScript port of cnnlib's calculators, a seeded
   problem generator with worked solutions, the answer check, and a small UI mounted into
   <div id="cnn-drill">. Own code, no third-party script, plain ES2017, no build step.

   Python twin: cnnlib/drill.py (problems, working, check) and cnnlib/_sizes.py, _cost.py,
   _receptive.py (formulas). window.cnnDrill.formulas.<name> take cnnlib's argument names, order
   and defaults (positional; spatial sizes as ints, a list where cnnlib takes a tuple) and throw
   where cnnlib raises ValueError/TypeError. tests/browser/test_drill_page.py runs this very file in
   Chromium and compares it with cnnlib on thousands of random cases, the check on many typed
   answers, and plays a problem. */
(function () {
  "use strict";

  // ------------------------------------------------------------------------------ formulas
  function fail(message) {
    throw new Error(message);
  }

  function checkInt(value, name, minimum) {
    if (typeof value !== "number" || !Number.isInteger(value)) {
      fail(name + "=" + JSON.stringify(value) + " must be an int");
    }
    if (value < minimum) {
      fail(name + "=" + value + " must be " + (minimum === 1 ? "positive" : "non-negative"));
    }
    return value;
  }

  function convOut(n, k, s, p, d) {
    checkInt(n, "in_size", 1);
    checkInt(k, "kernel_size", 1);
    checkInt(s, "stride", 1);
    checkInt(d, "dilation", 1);
    if (typeof p === "string") {
      if (p === "valid") {
        p = 0;
      } else if (p === "same") {
        if (s !== 1) fail("padding='same' requires stride=1, got stride=" + s);
        return n;
      } else {
        fail("padding='" + p + "' is not a valid padding string; expected 'same' or 'valid'");
      }
    }
    checkInt(p, "padding", 0);
    const span = n + 2 * p - d * (k - 1) - 1;
    if (span < 0) {
      fail("kernel_size=" + k + " with dilation=" + d + " is larger than the padded input " +
           (n + 2 * p));
    }
    return Math.floor(span / s) + 1;
  }

  function conv_output_size(in_size, kernel_size, stride = 1, padding = 0, dilation = 1) {
    return convOut(in_size, kernel_size, stride, padding, dilation);
  }

  function conv_transpose_output_size(in_size, kernel_size, stride = 1, padding = 0,
                                      output_padding = 0, dilation = 1) {
    const n = checkInt(in_size, "in_size", 1);
    const k = checkInt(kernel_size, "kernel_size", 1);
    const s = checkInt(stride, "stride", 1);
    const p = checkInt(padding, "padding", 0);
    const op = checkInt(output_padding, "output_padding", 0);
    const d = checkInt(dilation, "dilation", 1);
    if (op >= s && op >= d) {
      fail("output_padding=" + op + " must be smaller than either stride=" + s +
           " or dilation=" + d);
    }
    const out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
    if (out <= 0) fail("padding=" + p + " is too large: output size " + out);
    return out;
  }

  function pool_output_size(in_size, kernel_size, stride = null, padding = 0, dilation = 1,
                            ceil_mode = false) {
    if (typeof ceil_mode !== "boolean") fail("ceil_mode=" + ceil_mode + " must be a bool");
    const n = checkInt(in_size, "in_size", 1);
    const k = checkInt(kernel_size, "kernel_size", 1);
    const s = stride === null || stride === undefined ? k : checkInt(stride, "stride", 1);
    const p = checkInt(padding, "padding", 0);
    const d = checkInt(dilation, "dilation", 1);
    if (p > Math.floor(k / 2)) {
      fail("padding=" + p + " must be at most half of kernel_size=" + k + " (as in torch)");
    }
    const span = n + 2 * p - d * (k - 1) - 1;
    let out = (ceil_mode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    // torch: with ceil_mode, the last window must start inside the input or the left padding
    if (ceil_mode && (out - 1) * s >= n + p) out -= 1;
    if (out < 1) {
      fail("kernel_size=" + k + " with dilation=" + d + " is larger than the padded input " +
           (n + 2 * p));
    }
    return out;
  }

  function channels(in_channels, out_channels, groups) {
    const cin = checkInt(in_channels, "in_channels", 1);
    const cout = checkInt(out_channels, "out_channels", 1);
    const g = checkInt(groups, "groups", 1);
    if (cin % g) fail("in_channels=" + cin + " is not divisible by groups=" + g);
    if (cout % g) fail("out_channels=" + cout + " is not divisible by groups=" + g);
    return [cin, cout, g];
  }

  function spatial(value, name, n) {
    if (Array.isArray(value)) {
      if (!value.length) fail(name + "=[] must not be empty");
      return value.map(function (v) { return checkInt(v, name, 1); });
    }
    const v = checkInt(value, name, 1);
    return new Array(n || 2).fill(v);
  }

  function product(values) {
    return values.reduce(function (a, b) { return a * b; }, 1);
  }

  function conv_params(in_channels, out_channels, kernel_size, groups = 1, bias = true) {
    const [cin, cout, g] = channels(in_channels, out_channels, groups);
    const k = spatial(kernel_size, "kernel_size", null);
    if (typeof bias !== "boolean") fail("bias=" + bias + " must be a bool");
    return cout * (cin / g) * product(k) + (bias ? cout : 0);
  }

  function conv_macs(in_channels, out_channels, kernel_size, output_size, groups = 1) {
    const [cin, cout, g] = channels(in_channels, out_channels, groups);
    let n = null;
    [kernel_size, output_size].forEach(function (v) {
      if (Array.isArray(v)) {
        if (n !== null && v.length !== n) {
          fail("kernel_size and output_size must have the same length");
        }
        n = v.length;
      }
    });
    const k = spatial(kernel_size, "kernel_size", n);
    const out = spatial(output_size, "output_size", n);
    return cout * product(out) * (cin / g) * product(k);
  }

  function gcd(a, b) {
    while (b) [a, b] = [b, a % b];
    return a;
  }

  /** The exact ratio as [numerator, denominator] in lowest terms: 1/C_out + 1/k². */
  function separableFraction(out_channels, kernel_size) {
    const cout = checkInt(out_channels, "out_channels", 1);
    const area = product(spatial(kernel_size, "kernel_size", null));
    const num = area + cout;
    const den = cout * area;
    const g = gcd(num, den);
    return [num / g, den / g];
  }

  function separable_cost_ratio(out_channels, kernel_size) {
    const [num, den] = separableFraction(out_channels, kernel_size);
    return num / den;
  }

  /** layers: [kernel_size, stride, padding = 0, dilation = 1] per layer (ints); one record
      {size, jump, start} per layer, as cnnlib.receptive_field. */
  function receptive_field(layers) {
    if (!Array.isArray(layers)) fail("layers=" + JSON.stringify(layers) + " must be a list");
    let r = 1, j = 1, start = 0;
    return layers.map(function (layer, i) {
      const where = "layers[" + i + "]";
      if (!Array.isArray(layer) || layer.length < 2 || layer.length > 4) {
        fail(where + "=" + JSON.stringify(layer) +
             " must be (kernel_size, stride[, padding[, dilation]])");
      }
      const k = checkInt(layer[0], where + " kernel_size", 1);
      const s = checkInt(layer[1], where + " stride", 1);
      const p = checkInt(layer.length > 2 ? layer[2] : 0, where + " padding", 0);
      const d = checkInt(layer.length > 3 ? layer[3] : 1, where + " dilation", 1);
      start += ((k - 1) * d / 2 - p) * j;
      r += (k - 1) * d * j;
      j *= s;
      return {size: r, jump: j, start: start};
    });
  }

  const DTYPE_BYTES = {float32: 4, float16: 2, bfloat16: 2, int8: 1};

  function activation_bytes(shape, dtype = "float32") {
    if (!Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) {
      fail("dtype=" + JSON.stringify(dtype) + " is not one of " + Object.keys(DTYPE_BYTES));
    }
    if (!Array.isArray(shape) || !shape.length) {
      fail("shape=" + JSON.stringify(shape) + " must be a non-empty list of positive ints");
    }
    return DTYPE_BYTES[dtype] * product(shape.map(function (v) {
      return checkInt(v, "shape", 1);
    }));
  }

  const formulas = {conv_output_size, conv_transpose_output_size, pool_output_size, conv_params,
                    conv_macs, separable_cost_ratio, receptive_field, activation_bytes};

  // ------------------------------------------------------------------------------ problems
  const KINDS = {
    conv_output: "Conv output size",
    pool_output: "Pooling output size",
    transposed_output: "Transposed-conv output size",
    params: "Conv parameters",
    grouped_params: "Grouped-conv parameters",
    macs: "Conv MACs",
    flops: "Conv FLOPs",
    receptive_field: "Receptive field of a stack",
    separable_ratio: "Separable vs standard cost",
    activation_memory: "Activation memory",
  };
  const UNITS = {conv_output: "pixels", pool_output: "pixels", transposed_output: "pixels",
                 params: "parameters", grouped_params: "parameters", macs: "MACs",
                 flops: "FLOPs", receptive_field: "pixels", separable_ratio: "",
                 activation_memory: "bytes"};
  const SIZES = [7, 14, 28, 32, 56, 64, 112, 128, 224, 227, 256, 299, 13, 27, 55, 17, 35, 75, 149];
  const CHANNELS = [16, 32, 64, 96, 128, 192, 256, 384, 512];

  /** A seeded generator of floats in [0, 1) (mulberry32). */
  function makeRng(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function layerOut(a) {
    return conv_output_size(a.in_size, a.kernel_size, a.stride, a.padding);
  }

  /** The answer to a problem of `kind` about the layer `args`: a number, or [num, den]. */
  function solve(kind, a) {
    switch (kind) {
      case "conv_output":
        return conv_output_size(a.in_size, a.kernel_size, a.stride, a.padding, a.dilation);
      case "pool_output":
        return pool_output_size(a.in_size, a.kernel_size, a.stride, a.padding, 1, a.ceil_mode);
      case "transposed_output":
        return conv_transpose_output_size(a.in_size, a.kernel_size, a.stride, a.padding,
                                          a.output_padding, a.dilation);
      case "params":
      case "grouped_params":
        return conv_params(a.in_channels, a.out_channels, a.kernel_size, a.groups, a.bias);
      case "macs":
      case "flops": {
        const macs = conv_macs(a.in_channels, a.out_channels, a.kernel_size, layerOut(a),
                               a.groups);
        return kind === "macs" ? macs : 2 * macs;
      }
      case "receptive_field": {
        const records = receptive_field(a.layers);
        return records[records.length - 1].size;
      }
      case "separable_ratio":
        return separableFraction(a.out_channels, a.kernel_size);
      case "activation_memory": {
        const h = layerOut(a);
        return activation_bytes([a.batch, a.out_channels, h, h], a.dtype);
      }
      default:
        fail("kind=" + JSON.stringify(kind) + " is not one of " + Object.keys(KINDS));
    }
  }

  function draw(kind, rand) {
    const pick = function (seq) { return seq[Math.floor(rand() * seq.length)]; };
    if (kind === "conv_output") {
      const k = pick([1, 3, 3, 3, 5, 7, 11]);
      const d = k > 1 ? pick([1, 1, 1, 2, 3, 4]) : 1;
      return {in_size: pick(SIZES), kernel_size: k, stride: pick([1, 2, 2, 3, 4]),
              padding: pick([0, k >> 1, k >> 1, (d * (k - 1)) >> 1]), dilation: d};
    }
    if (kind === "pool_output") {
      const k = pick([2, 2, 3, 3, 3, 5]);
      return {in_size: pick(SIZES), kernel_size: k, stride: pick([null, 1, 2, 2]),
              padding: pick([0, 0, k >> 1]), ceil_mode: pick([true, false])};
    }
    if (kind === "transposed_output") {
      const k = pick([2, 3, 4, 4, 5]), s = pick([1, 2, 2, 2, 4]), d = pick([1, 1, 1, 2]);
      return {in_size: pick([7, 8, 14, 16, 28, 32, 56, 64]), kernel_size: k, stride: s,
              padding: pick([0, 1, (k - 1) >> 1]),
              output_padding: Math.max(s, d) > 1 ? pick([0, 0, 1]) : 0, dilation: d};
    }
    if (kind === "params" || kind === "grouped_params") {
      const cin = kind === "params" ? pick([3].concat(CHANNELS)) : pick(CHANNELS);
      let cout = pick(CHANNELS), g = 1;
      if (kind === "grouped_params") {
        g = pick([2, 4, 8, 32, cin, cin]);
        if (g === cin) cout = cin * pick([1, 1, 2]);
      }
      let k = pick([1, 3, 3, 5, 7]);
      if (g === cin && k === 1) k = 3;                     // no 1×1 depthwise
      return {in_channels: cin, out_channels: cout, kernel_size: k, groups: g,
              bias: pick([true, false])};
    }
    if (kind === "macs" || kind === "flops" || kind === "activation_memory") {
      const k = pick([1, 3, 3, 3, 5, 7]);
      const cin = pick([3].concat(CHANNELS));
      const a = {in_channels: cin, out_channels: pick(CHANNELS), kernel_size: k,
                 in_size: pick([7, 14, 28, 56, 112, 224]), stride: pick([1, 1, 2]),
                 padding: pick([k >> 1, k >> 1, 0])};
      if (kind === "activation_memory") {
        a.batch = pick([1, 8, 16, 32, 64, 128, 256]);
        a.dtype = pick(["float32", "float32", "float16", "bfloat16", "int8"]);
      } else {
        a.groups = cin > 3 && k > 1 ? pick([1, 1, 1, cin]) : 1;
        if (a.groups > 1) a.out_channels = cin;
      }
      return a;
    }
    if (kind === "receptive_field") {
      const layers = [];
      const n = 2 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const k = pick([1, 2, 3, 3, 3, 5, 7]);
        const s = k > 1 ? pick([1, 1, 2]) : pick([1, 2]);
        const d = k > 2 ? pick([1, 1, 1, 2, 4]) : 1;
        layers.push([k, s, (d * (k - 1)) >> 1, d]);
      }
      return {layers: layers};
    }
    // separable_ratio
    return {in_channels: pick(CHANNELS), out_channels: pick(CHANNELS.concat([1024])),
            kernel_size: pick([3, 3, 5, 7])};
  }

  function fmt(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /** x to 3 significant digits, trailing zeros dropped (cnnlib.drill._sig3). */
  function sig3(x) {
    return String(Number(x.toPrecision(3)));
  }

  function approx(n) {
    const scales = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (let i = 0; i < scales.length; i++) {
      if (n >= scales[i][0]) return sig3(n / scales[i][0]) + " " + scales[i][1];
    }
    return String(n);
  }

  /** The article before a number read aloud: "an 8×8", "an 11×11", "a 112×112"
      (cnnlib.drill._a). */
  function an(n, capital) {
    const word = String(n)[0] === "8" || n === 11 || n === 18 ? "an" : "a";
    return capital ? word[0].toUpperCase() + word.slice(1) : word;
  }

  const TEXT = {
    conv_output: function (a, ans) {
      const {kernel_size: k, stride: s, padding: p, dilation: d, in_size: n} = a;
      const opts = "stride " + s + ", padding " + p + (d > 1 ? ", dilation " + d : "");
      const span = n + 2 * p - d * (k - 1) - 1;
      const work = ["H_out = ⌊(H_in + 2p − d(k−1) − 1) / s⌋ + 1",
                    "      = ⌊(" + n + " + 2·" + p + " − " + d + "·(" + k + "−1) − 1) / " + s +
                    "⌋ + 1",
                    "      = ⌊" + span + " / " + s + "⌋ + 1 = " + Math.floor(span / s) +
                    " + 1 = " + ans];
      if (d > 1) work.push("(the dilated kernel spans d(k−1)+1 = " + (d * (k - 1) + 1) + " pixels)");
      return [an(k, true) + " " + k + "×" + k + " convolution (" + opts + ") is applied to " +
              an(n) + " " + n + "×" + n + " feature map. What is the output height (= width)?",
              work];
    },
    pool_output: function (a, ans) {
      const k = a.kernel_size, n = a.in_size, p = a.padding, ceil = a.ceil_mode;
      const stride = a.stride === null ? "stride left at its default" : "stride " + a.stride;
      const s = a.stride === null ? k : a.stride;
      const [lo, hi] = ceil ? ["⌈", "⌉"] : ["⌊", "⌋"];
      const span = n + 2 * p - k;
      const q = ceil ? Math.ceil(span / s) : Math.floor(span / s);
      const work = ["H_out = " + lo + "(H_in + 2p − k) / s" + hi + " + 1" +
                    (ceil ? "   (ceil_mode)" : ""),
                    "      = " + lo + "(" + n + " + 2·" + p + " − " + k + ") / " + s + hi + " + 1",
                    "      = " + lo + span + " / " + s + hi + " + 1 = " + q + " + 1 = " + (q + 1)];
      if (a.stride === null) {
        work.splice(0, 0, "(stride not given: torch's default is the kernel size, s = " + k + ")");
      }
      if (ceil && q + 1 !== ans) {
        work.push("but the last window would start at " + q + "·" + s + " = " + q * s +
                  " ≥ H_in + p = " + (n + p) + ",", "in the padding: torch drops it → " + ans);
      } else if (ceil && ans !== n && span % s) {
        work.push("(with floor it would be " + (Math.floor(span / s) + 1) +
                  ": ceil keeps the partial last window)");
      }
      return [an(k, true) + " " + k + "×" + k + " max-pool (" + stride + ", padding " + p +
              ", ceil_mode=" + (ceil ? "True" : "False") + ") is applied to " + an(n) + " " + n +
              "×" + n + " feature map. What is the output height (= width)?", work];
    },
    transposed_output: function (a, ans) {
      const {in_size: n, kernel_size: k, stride: s, padding: p, output_padding: op,
             dilation: d} = a;
      const opts = "stride " + s + ", padding " + p + ", output_padding " + op +
                   (d > 1 ? ", dilation " + d : "");
      return [an(k, true) + " " + k + "×" + k + " transposed convolution (" + opts +
              ") is applied to " + an(n) + " " + n + "×" + n +
              " feature map. What is the output height (= width)?",
              ["H_out = (H_in − 1)·s − 2p + d(k−1) + output_padding + 1",
               "      = (" + n + " − 1)·" + s + " − 2·" + p + " + " + d + "·(" + k + "−1) + " +
               op + " + 1",
               "      = " + (n - 1) * s + " − " + 2 * p + " + " + d * (k - 1) + " + " + op +
               " + 1 = " + ans]];
    },
    params: function (a, ans) {
      const {in_channels: cin, out_channels: cout, kernel_size: k, groups: g, bias: b} = a;
      const layer = "Conv2d(" + cin + ", " + cout + ", kernel_size=" + k +
                    (g > 1 ? ", groups=" + g : "") + ", bias=" + (b ? "True" : "False") + ")";
      const biasTerm = b ? " + " + cout : "";
      const work = ["P = C_out · (C_in / g) · k·k" + (b ? " + C_out (bias)" : "   (no bias)"),
                    "  = " + cout + " · (" + cin + " / " + g + ") · " + k + "·" + k + biasTerm,
                    "  = " + (b ? fmt(cout * (cin / g) * k * k) + biasTerm + " = " : "") +
                    fmt(ans)];
      if (g === cin && g > 1) {
        work.push("(groups = C_in: a depthwise convolution, one k×k filter per channel" +
                  (cout > cin ? ", ×" + cout / cin : "") + ")");
      }
      return ["How many learnable parameters does " + layer + " have?", work];
    },
    macs: function (a, ans, flops) {
      const {in_channels: cin, out_channels: cout, kernel_size: k, groups: g, in_size: n,
             stride: s, padding: p} = a;
      const h = layerOut(a);
      const layer = "Conv2d(" + cin + ", " + cout + ", " + k + ", stride=" + s + ", padding=" +
                    p + (g > 1 ? ", groups=" + g : "") + ")";
      const what = flops ? "FLOPs (FLOPs = 2 × MACs)" : "multiply-accumulates (MACs)";
      const macs = flops ? ans / 2 : ans;
      const work = ["H_out = ⌊(" + n + " + 2·" + p + " − " + k + ") / " + s + "⌋ + 1 = " + h,
                    "MACs = C_out · H_out · W_out · (C_in / g) · k·k",
                    "     = " + cout + " · " + h + "·" + h + " · (" + cin + " / " + g + ") · " +
                    k + "·" + k + " = " + fmt(macs)];
      work.push(flops ? "FLOPs = 2 · MACs = " + fmt(ans) + "  (≈ " + approx(ans) + ")"
                      : "      ≈ " + approx(ans) + " MACs = " + approx(2 * ans) + " FLOPs");
      return [layer + " on a 1×" + cin + "×" + n + "×" + n + " input: how many " + what +
              "? Bias not counted.", work];
    },
    grouped_params: function (a, ans) { return TEXT.params(a, ans); },
    flops: function (a, ans) { return TEXT.macs(a, ans, true); },
    receptive_field: function (a, ans) {
      const names = a.layers.map(function (l) {
        return l[0] + "×" + l[0] + " s" + l[1] + (l[2] ? " p" + l[2] : "") +
               (l[3] > 1 ? " d" + l[3] : "");
      });
      const work = ["r_l = r_(l−1) + (k−1)·d·j_(l−1),  j_l = j_(l−1)·s,  r_0 = j_0 = 1"];
      let r = 1, j = 1;
      a.layers.forEach(function (l, i) {
        const nr = r + (l[0] - 1) * l[3] * j;
        work.push("layer " + (i + 1) + ": r = " + r + " + " + (l[0] - 1) + "·" + l[3] + "·" + j +
                  " = " + nr + ",  j = " + j + "·" + l[1] + " = " + j * l[1]);
        r = nr;
        j *= l[1];
      });
      work.push("receptive field = " + ans + "  (padding does not change it)");
      return ["Receptive field (in input pixels) of one output of this stack of convolutions " +
              "(k×k, stride s, padding p, dilation d): " + names.join(", then ") + "?", work];
    },
    separable_ratio: function (a, ans) {
      const {in_channels: cin, out_channels: cout, kernel_size: k} = a;
      return ["A standard " + k + "×" + k + " convolution " + cin + " → " + cout +
              " channels is replaced by a depthwise-separable one (" + k + "×" + k +
              " depthwise, then 1×1 pointwise), same output size. Separable MACs ÷ standard " +
              "MACs? (a fraction, or 3 significant digits)",
              ["ratio = HW·C_in·(k·k + C_out) / (HW·C_in·C_out·k·k) = 1/C_out + 1/k²",
               "      = 1/" + cout + " + 1/" + k * k + " = " + ans[0] + "/" + ans[1] + " ≈ " +
               (ans[0] / ans[1]).toPrecision(3),
               "(not 1/k² = " + (1 / (k * k)).toPrecision(3) +
               ": that forgets the pointwise part)"]];
    },
    activation_memory: function (a, ans) {
      const {in_channels: cin, out_channels: cout, kernel_size: k, in_size: n, stride: s,
             padding: p, batch: b, dtype: dt} = a;
      const h = layerOut(a);
      return ["Conv2d(" + cin + ", " + cout + ", " + k + ", stride=" + s + ", padding=" + p +
              ") runs on " + (dt.indexOf("int") === 0 ? "an " : "a ") + dt +
              " batch of shape " + b + "×" + cin + "×" + n + "×" + n +
              ". How many bytes does its output take?",
              ["H_out = ⌊(" + n + " + 2·" + p + " − " + k + ") / " + s + "⌋ + 1 = " + h,
               "bytes = N · C_out · H_out · W_out · (bytes per element)",
               "      = " + b + " · " + cout + " · " + h + "·" + h + " · " + DTYPE_BYTES[dt] +
               "   (" + dt + ")",
               "      = " + fmt(ans) + (ans >= 1e5 ? "  ≈ " + sig3(ans / 1e6) + " MB = " +
                                                 sig3(ans / 1048576) + " MiB" : "")]];
    },
  };

  /** A new problem: {kind, text, answer (number or [num, den]), unit, working, args}.
      `kind` null/"" draws one; `rand` a function returning floats in [0, 1). */
  function generate(kind, rand) {
    rand = rand || Math.random;
    const kinds = Object.keys(KINDS);
    if (!kind) kind = kinds[Math.floor(rand() * kinds.length)];
    if (!Object.prototype.hasOwnProperty.call(KINDS, kind)) {
      fail("kind=" + JSON.stringify(kind) + " is not one of " + kinds);
    }
    for (let i = 0; i < 1000; i++) {
      const args = draw(kind, rand);
      let answer;
      try {
        answer = solve(kind, args);
      } catch (e) {
        continue;       // e.g. a dilated kernel larger than the padded input: draw again
      }
      const [text, working] = TEXT[kind](args, answer);
      return {kind: kind, text: text, answer: answer, unit: UNITS[kind],
              working: working.join("\n"), args: args};
    }
    fail("no valid " + kind + " problem drawn in 1000 tries");
  }

  // ------------------------------------------------------------------------------ checking
  // The same rule as cnnlib.drill.check (tests/browser/test_drill_page.py compares them).
  const MULTIPLIERS = {"": 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024,
                       Mi: 1048576, Gi: 1073741824, "万": 1e4, "亿": 1e8, thousand: 1e3,
                       million: 1e6, billion: 1e9};
  const NUMBER = new RegExp("^([0-9]*)(?:\\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,3}))?" +
                            " *(%)? *(Ki|Mi|Gi|thousand|million|billion|[kKMGT万亿])?(?:i?B)? *" +
                            "([Bb]ytes?|MACs?|macs?|FLOPs?|flops?|[Pp]arams|[Pp]arameters" +
                            "|[Pp]ixels?|px)?$");
  const FRACTION = /^([0-9]+) *\/ *([0-9]+)$/;
  const SEPARATORS = /([0-9])[ ,_'\u00a0\u2009\u202f](?=[0-9]{3})/g;
  const SAFE = 9007199254740992;   // 2**53: beyond it doubles are not exact; Python refuses too

  /** {mantissa, den, exp, mult, digits, rounded, decimal_point}, as cnnlib.drill.parse_answer;
      throws on anything else. */
  function parseAnswer(text) {
    if (typeof text !== "string") fail("answer_text must be a str");
    const s = text.trim().replace(/，/g, ",").replace(SEPARATORS, "$1");
    let m = FRACTION.exec(s);
    if (m) {
      const num = parseInt(m[1], 10), den = parseInt(m[2], 10);
      if (den === 0) fail("answer_text='" + text + "': division by zero");
      return {mantissa: num, den: den, exp: 0, mult: 1, digits: String(num).length,
              rounded: false, decimal_point: false};
    }
    m = NUMBER.exec(s);
    if (!m || !(m[1] || m[2])) {
      fail("answer_text='" + text + "' is not a number such as 1024, 1,024, 86.7M, 73/576 " +
           "or 0.127");
    }
    const frac = m[2] === undefined ? "" : m[2];
    const digits = (m[1] || "") + frac;
    const exp = (m[3] ? parseInt(m[3], 10) : 0) - frac.length - (m[4] ? 2 : 0);
    const stripped = digits.replace(/^0+/, "");
    return {mantissa: parseInt(digits, 10), den: 1, exp: exp, mult: MULTIPLIERS[m[5] || ""],
            digits: stripped.length || 1, rounded: Boolean(m[5] || m[3] || m[4]),
            decimal_point: m[2] !== undefined};
  }

  function pow10(n) {
    let out = 1;
    for (let i = 0; i < n && out < SAFE; i++) out *= 10;
    return out;
  }

  function accepts(answer, a) {
    const [p, q] = Array.isArray(answer) ? answer : [answer, 1];
    if (a.den !== 1) return a.mantissa * q === p * a.den;
    const t = a.exp;
    const left = a.mantissa * a.mult * q * pow10(Math.max(t, 0));
    const right = p * pow10(Math.max(-t, 0));
    const unit = a.mult * q * pow10(Math.max(t, 0));
    if (Math.max(a.mantissa, left, right, unit) >= SAFE) return false;
    if (left === right) return true;
    const rounded = a.rounded || (q !== 1 && a.decimal_point);
    const need = q !== 1 ? 3 : 2;
    return rounded && a.digits >= need && 2 * Math.abs(left - right) <= unit;
  }

  /** Is `text` a right answer to `problem` (or to the answer itself: a number or [num, den])? */
  function check(problem, text) {
    const answer = problem && problem.answer !== undefined ? problem.answer : problem;
    let parsed;
    try {
      parsed = parseAnswer(text);
    } catch (e) {
      return false;
    }
    return accepts(answer, parsed);
  }

  function answerText(problem) {
    const ans = problem.answer;
    if (Array.isArray(ans)) return ans[0] + "/" + ans[1] + " ≈ " + (ans[0] / ans[1]).toPrecision(3);
    return fmt(ans) + (problem.unit ? " " + problem.unit : "");
  }

  // ------------------------------------------------------------------------------ the UI
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Mount the drill into `root`; `seed` (an int) makes the problem sequence reproducible. */
  function mount(root, seed) {
    if (seed === undefined || seed === null) seed = Date.now() % 4294967296;
    const rand = makeRng(seed);
    const state = {problem: null, answered: false, right: 0, done: 0};
    root.textContent = "";
    root.classList.add("cnn-drill");
    const form = el("form", {"class": "cnn-drill-form", novalidate: ""});
    const kindRow = el("div", {"class": "cnn-drill-row"});
    const kindLabel = el("label", {"for": "cnn-drill-kind"}, "Problem kind");
    const select = el("select", {id: "cnn-drill-kind", name: "kind"});
    select.appendChild(el("option", {value: ""}, "Any kind (mixed)"));
    Object.keys(KINDS).forEach(function (k) {
      select.appendChild(el("option", {value: k}, KINDS[k]));
    });
    const newButton = el("button", {type: "button", "class": "cnn-drill-new"}, "New problem");
    kindRow.append(kindLabel, select, newButton);
    const question = el("p", {"class": "cnn-drill-question", id: "cnn-drill-question"});
    const answerRow = el("div", {"class": "cnn-drill-row"});
    const answerLabel = el("label", {"for": "cnn-drill-answer"}, "Your answer");
    const input = el("input", {id: "cnn-drill-answer", type: "text", inputmode: "decimal",
                               autocomplete: "off", autocapitalize: "off", spellcheck: "false",
                               enterkeyhint: "done", "aria-describedby": "cnn-drill-question"});
    const checkButton = el("button", {type: "submit", "class": "cnn-drill-check"}, "Check");
    answerRow.append(answerLabel, input, checkButton);
    const hint = el("p", {"class": "cnn-drill-hint"},
                    "Type the exact number (1,024 or 1024) or a rounded one with at least 2 " +
                    "significant digits (86.7M, 87 million, 24.5 MiB; MB = 10⁶ bytes, MiB = " +
                    "2²⁰); a ratio as 73/576 or to 3 digits (0.127, 12.7%). Enter checks.");
    const verdict = el("p", {"class": "cnn-drill-verdict", role: "status",
                             "aria-live": "polite"});
    const working = el("pre", {"class": "cnn-drill-working", hidden: ""});
    const score = el("p", {"class": "cnn-drill-score", "aria-live": "polite"});
    form.append(kindRow, question, answerRow, hint, verdict, working, score);
    root.appendChild(form);

    function showScore() {
      score.textContent = "Score: " + state.right + " right of " + state.done + " answered";
    }

    function newProblem() {
      state.problem = generate(select.value || null, rand);
      state.answered = false;
      question.textContent = state.problem.text;
      answerLabel.textContent = "Your answer" + (state.problem.unit ? " (" + state.problem.unit +
                                                 ")" : "");
      input.value = "";
      verdict.textContent = "";
      verdict.className = "cnn-drill-verdict";
      working.hidden = true;
      working.textContent = "";
      api.current = state.problem;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.value.trim()) {
        verdict.textContent = "Type an answer first.";
        verdict.className = "cnn-drill-verdict";
        return;
      }
      let readable = true;
      try {
        parseAnswer(input.value);
      } catch (e) {
        readable = false;
      }
      const ok = readable && check(state.problem, input.value);
      if (!state.answered) {
        state.done += 1;
        state.right += ok ? 1 : 0;
        state.answered = true;
      }
      verdict.className = "cnn-drill-verdict " + (ok ? "is-right" : "is-wrong");
      verdict.textContent = ok ? "✓ Right: " + answerText(state.problem) + "."
        : "✗ Wrong" + (readable ? "" : " (could not read “" + input.value + "” as a number)") +
          ": the answer is " + answerText(state.problem) + ". The working:";
      working.textContent = "";
      state.problem.working.split("\n").forEach(function (line, i) {
        // one block per line: a line too long for a phone wraps under a hanging indent
        if (i) working.appendChild(document.createTextNode("\n"));
        working.appendChild(el("span", {"class": "cnn-drill-line"}, line));
      });
      working.hidden = false;
      showScore();
    });
    newButton.addEventListener("click", function () {
      newProblem();
      input.focus();
    });
    select.addEventListener("change", newProblem);
    newProblem();
    showScore();
    return state;
  }

  const api = {formulas: formulas, KINDS: KINDS, solve: solve, generate: generate,
               parseAnswer: parseAnswer, check: check, makeRng: makeRng, mount: mount,
               current: null};
  window.cnnDrill = api;

  function autoMount() {
    const root = document.getElementById("cnn-drill");
    if (root) {
      const seed = new URLSearchParams(window.location.search).get("seed");
      mount(root, seed === null ? undefined : parseInt(seed, 10));
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", autoMount);
  } else {
    autoMount();
  }
})();
