"""A stand-in for TensorFlow Serving's REST predict API, for interop checks without a model server.

``predict(model, body)`` takes the object returned by ``tf.saved_model.load(path)`` and a request
body as it would be POSTed to ``/v1/models/<name>:predict``, and returns ``(http_status,
response_json)`` the way ``tensorflow_model_server --rest_api_port`` would. ``predict_batch``
emulates the server-side batching session for several requests to one signature, and
``make_http_server`` wraps ``predict`` in a tiny loopback HTTP server (optional convenience).

Written from TF Serving's documentation and source, read (not copied) in the tensorflow/serving
repository (snapshot of commit 9d981c5c2708d23c5407c7c1e30309e6f9798874):

* ``tensorflow_serving/g3doc/api_rest.md`` -- request/response formats, "JSON mapping",
  "Encoding binary values", "JSON conformance" (NaN / Infinity tokens), error body.
* ``tensorflow_serving/util/json_tensor.h`` and ``json_tensor.cc`` -- the exact parsing rules
  (FillPredictRequestFromJson, FillTensorProto, AddValueToTensor, AddInstanceItem), the response
  writer (MakeJsonFromTensors, WriteDecimal, the ``_bytes`` rule) and all error texts used here.
  ``json_tensor_test.cc`` for examples.
* ``tensorflow_serving/model_servers/http_rest_api_handler.cc`` -- order of the steps, the
  "Serving signature name ... not found" error, ``{"error": ...}`` bodies (MakeJsonFromStatus).
* ``tensorflow_serving/model_servers/http_server.cc`` (ToHTTPStatusCode) and
  ``util/net_http/public/response_code_enum.h`` -- status code to HTTP status mapping.
* ``tensorflow_serving/servables/tensorflow/predict_util.cc`` -- every signature output is fetched
  when the request has no output filter (REST never sets one); request input checks; and
  ``tensorflow/cc/saved_model/util.cc`` (tensorflow/tensorflow) GetInputValues.
* ``tensorflow_serving/batching/batching_session.cc`` and ``batching_util.h`` -- batching
  (concatenate along dim 0, run once, split), and its errors.
* The JSON library TF Serving pins (``tensorflow_serving/workspace.bzl``: Tencent/rapidjson
  v1.1.0): NaN/Inf tokens (reader.h ParseNumber with kParseNanAndInfFlag), the PrettyWriter
  layout (prettywriter.h; 4-space indent, "single line arrays" inside each prediction), and
  ``kParseStopWhenDoneFlag`` (text after the top-level value is ignored). absl Base64Unescape
  (abseil-cpp absl/strings/escaping.cc) for the lenient ``b64`` decoding, and absl
  SixDigitsToBuffer ("same as printf %g") for float output.

Rules worth knowing (all from the sources above):

* Integers for DT_INT8/INT16/INT32/UINT8 must be JSON integers fitting in int32; there is no
  range check against the narrower type: the value goes into TensorProto.int_val and
  Tensor::FromProto truncates it (two's complement wrap), e.g. 300 -> 44 and -1 -> 255 for uint8.
  Checked against TF 2.21's C++ FromProto via tf.io.parse_tensor. DT_INT64 needs an int64 value,
  DT_UINT32/UINT64 a value in their range; floats never pass for integer types (1.0 is rejected).
* DT_FLOAT/DT_DOUBLE take any JSON number, NaN, Inf/Infinity, -Inf/-Infinity.
* DT_UINT16, DT_HALF, DT_BFLOAT16, complex... are not in the JSON mapping: input values give
  UNIMPLEMENTED (HTTP 501 in columnar format; in row format the error is wrapped into
  INVALID_ARGUMENT, 400), output values give INVALID_ARGUMENT "Failed to write JSON value".
* Output floats: six significant digits (%g), or 9 / 17 digits when that does not round-trip;
  ".0" appended to whole numbers; NaN, Infinity, -Infinity tokens.
* Strings: outputs whose name ends in ``_bytes`` as {"b64": ...}; other strings as raw bytes in
  a JSON string (invalid UTF-8 stays invalid; here carried as surrogate escapes in the str).
* Row format response: every output must have a 0-th dimension ("Tensor name: X has no shape
  information ") and all the same size ("Tensor name: X has inconsistent batch size: N
  expecting: M"); the size is not compared with the number of instances.

Not confirmed, or deliberately approximate:

* Output key order: TF Serving iterates a protobuf Map (unspecified order); we sort by name.
  The "first" output / input used in some messages follows the same sorted order.
* JSON syntax errors: the text is "JSON Parse error: <rapidjson message> at offset: N", mapped
  from Python's json errors; the wording is right for common cases, the offset approximate.
* Messages of errors raised by TensorFlow while running the signature come from Python's eager
  runtime (prefix "Graph execution error", "Detected at node", "[Op:...]" suffix are stripped);
  node names can differ from what a Session in the model server reports. The status code is the
  op error's code (a failing Assert is INVALID_ARGUMENT -> 400). TypeError/ValueError raised by
  Python when binding arguments (TF2 functions with strict input signatures) become 400.
* Error texts embed rapidjson debug renderings of JSON values; doubles are printed with
  Python's shortest repr digits laid out like rapidjson's dtoa (Grisu2 can differ in rare
  cases). absl::Status::ToString ("INVALID_ARGUMENT: ...") is used where TF Serving nests a
  status in a message; TF Serving builds before TF 2.13 printed "Invalid argument: ..." there.
* Duplicate JSON object keys: the first one wins (rapidjson FindMember), the others are dropped.
* Not emulated: signature "defaults", output_filter, --enable_signature_method_name_check (off by
  default in the model server), batching options beyond the default (max_batch_size, batch
  padding to allowed_batch_sizes, pad_variable_length_inputs, timeouts).
"""

import base64
import json
import math
import re
from decimal import Decimal

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

DEFAULT_SIGNATURE = "serving_default"  # kDefaultServingSignatureDefKey

# ---------------------------------------------------------------------------------------------
# Status codes (absl::StatusCode) and their HTTP statuses (http_server.cc ToHTTPStatusCode).
# ---------------------------------------------------------------------------------------------

_CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS", 16: "UNAUTHENTICATED",
}

HTTP_STATUS = {
    "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


class ServingError(Exception):
    """A non-OK status: ``code`` is an absl status code name, ``message`` its message."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self):
        return HTTP_STATUS.get(self.code, 500)

    def status_string(self):
        """absl::Status::ToString(), as TF Serving nests it in some messages."""
        return f"{self.code}: {self.message}"


def _invalid(*parts):
    return ServingError("INVALID_ARGUMENT", "".join(str(p) for p in parts))


# ---------------------------------------------------------------------------------------------
# Reading the request JSON like rapidjson (kParseNanAndInfFlag | kParseStopWhenDoneFlag).
# ---------------------------------------------------------------------------------------------

# NaN, Inf and Infinity with an optional minus sign (reader.h), outside of string literals.
_NAN_INF_OR_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|(-?)(NaN|Infinity|Inf)(?![A-Za-z])')
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')

_PARSE_MESSAGES = {  # Python json message -> rapidjson GetParseError_En message
    "Expecting value": "Invalid value.",
    "Expecting property name enclosed in double quotes": "Missing a name for object member.",
    "Expecting ':' delimiter": "Missing a colon after a name of object member.",
    "Unterminated string starting at": "Missing a closing quotation mark in string.",
    "Invalid control character at": "Invalid escape character in string.",
    "Invalid \\escape": "Invalid escape character in string.",
    "Invalid \\uXXXX escape": "Incorrect hex digit after \\u escape in string.",
}


class _FirstKeyWins(dict):
    """JSON object: member order kept, a repeated key keeps its first value (FindMember)."""

    @classmethod
    def from_pairs(cls, pairs):
        obj = cls()
        for key, value in pairs:
            obj.setdefault(key, value)
        return obj


def _normalize_nan_inf(text):
    def replace(match):
        if match.group(2) is None:
            return match.group(0)  # a string literal, unchanged
        if match.group(2) == "NaN":
            return "NaN"
        return "-Infinity" if match.group(1) else "Infinity"

    if "NaN" not in text and "Inf" not in text:
        return text
    return _NAN_INF_OR_STRING.sub(replace, text)


def _innermost_container(text, pos):
    stack = []
    for match in _STRING_OR_BRACKET.finditer(text, 0, pos):
        token = match.group(0)
        if token in "[{":
            stack.append(token)
        elif token in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _parse_error(text, err, skipped):
    if err.msg == "Expecting value" and (err.pos >= len(text) or text[err.pos] in ",:]}"):
        # A structural token (or the end) where a value should be: rapidjson's HandleError.
        what = "The document is empty." if err.pos == 0 else "Unspecific syntax error."
    elif err.msg == "Expecting ',' delimiter":
        if _innermost_container(text, err.pos) == "{":
            what = "Missing a comma or '}' after an object member."
        else:
            what = "Missing a comma or ']' after an array element."
    else:
        what = _PARSE_MESSAGES.get(err.msg, err.msg)
    offset = skipped + len(text[:err.pos].encode("utf-8", "surrogateescape"))
    return _invalid("JSON Parse error: ", what, " at offset: ", offset)


def _load_json(body):
    """ParseJson: the request body as Python values (dicts keep the members' order)."""
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else bytes(body)
    if not raw:
        raise _invalid("JSON Parse error: The document is empty")
    skipped = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # UTF-8 BOM, skipped by the stream
    text = raw[skipped:].decode("utf-8", "surrogateescape")
    stripped = text.lstrip(" \t\n\r")
    skipped += len(text) - len(stripped)
    if not stripped:
        raise _invalid("JSON Parse error: The document is empty. at offset: ", len(raw))
    decoder = json.JSONDecoder(object_pairs_hook=_FirstKeyWins.from_pairs)
    normalized = _normalize_nan_inf(stripped)
    try:
        doc, _ = decoder.raw_decode(normalized)  # text after the value is ignored
    except json.JSONDecodeError as err:
        raise _parse_error(normalized, err, skipped) from None
    except RecursionError:
        raise _invalid("JSON Parse error: nesting too deep") from None
    return doc


def _to_bytes(text):
    """JSON string -> the bytes rapidjson stores (raw invalid UTF-8 bytes pass through)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return b"".join(bytes([ord(c) - 0xDC00]) if "\udc80" <= c <= "\udcff"
                        else c.encode("utf-8", "surrogatepass") for c in text)


def _json_type(value):
    """rapidjson type names (JsonTypeString)."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def _is_base64_object(value):
    """IsValBase64Object: an object with the single key "b64" holding a string."""
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


# ---------------------------------------------------------------------------------------------
# Writing JSON like rapidjson's PrettyWriter (4-space indent, optional single-line arrays).
# ---------------------------------------------------------------------------------------------

_ESCAPES = {i: "\\u%04X" % i for i in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r",
                 0x22: '\\"', 0x5C: "\\\\"})


def _quote(data):
    """A JSON string literal for bytes, escaped like rapidjson's Writer (raw non-ASCII)."""
    return '"' + data.decode("utf-8", "surrogateescape").translate(_ESCAPES) + '"'


class _StopWriting(Exception):
    """Raised when a limited writer (JsonWriterWithLimit) or a value write stops the output."""


class _PrettyWriter:
    """The subset of rapidjson::PrettyWriter used by TF Serving, text kept as a str."""

    def __init__(self, max_bytes=None):
        self.single_line_arrays = False
        self._parts = []
        self._levels = []  # [in_array, value_count] per open container
        self._size = 0
        self._max_bytes = max_bytes  # JsonWriterWithLimit: no event once the size is reached

    def text(self):
        return "".join(self._parts)

    def _check_limit(self):
        if self._max_bytes is not None and self._size >= self._max_bytes:
            raise _StopWriting()

    def _put(self, text):
        self._parts.append(text)
        self._size += len(text.encode("utf-8", "surrogatepass")) if self._max_bytes else 0

    def _indent(self):
        return " " * (4 * len(self._levels))

    def _prefix(self):
        if not self._levels:
            return
        level = self._levels[-1]
        in_array, count = level
        if in_array:
            if count > 0:
                self._put(", " if self.single_line_arrays else ",")
            if not self.single_line_arrays:
                self._put("\n" + self._indent())
        else:
            if count > 0:
                self._put(",\n" if count % 2 == 0 else ": ")
            else:
                self._put("\n")
            if count % 2 == 0:
                self._put(self._indent())
        level[1] += 1

    def raw(self, text):
        self._check_limit()
        self._prefix()
        self._put(text)

    def string(self, data):
        self.raw(_quote(data))

    key = string

    def failed_value(self):
        """A value whose write fails after its prefix (rapidjson's Double on NaN/Inf)."""
        self._check_limit()
        self._prefix()
        raise _StopWriting()

    def start_object(self):
        self._check_limit()
        self._prefix()
        self._levels.append([False, 0])
        self._put("{")

    def end_object(self):
        self._check_limit()
        if self._levels.pop()[1]:
            self._put("\n" + self._indent())
        self._put("}")

    def start_array(self):
        self._check_limit()
        self._prefix()
        self._levels.append([True, 0])
        self._put("[")

    def end_array(self):
        self._check_limit()
        if self._levels.pop()[1] and not self.single_line_arrays:
            self._put("\n" + self._indent())
        self._put("]")

    def raw_array(self, texts):
        """start_array, raw(t) for each text, end_array -- in one go (same output)."""
        if self._max_bytes is not None or not texts:
            self.start_array()
            for text in texts:
                self.raw(text)
            self.end_array()
            return
        self._prefix()
        if self.single_line_arrays:
            self._put("[" + ", ".join(texts) + "]")
        else:
            inner = "\n" + " " * (4 * (len(self._levels) + 1))
            self._put("[" + inner + ("," + inner).join(texts) + "\n" + self._indent() + "]")


def _rapidjson_dtoa(value):
    """A double as rapidjson's Writer::Double writes it (internal::dtoa + Prettify)."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    length, k = len(digits), exponent
    kk = length + k  # 10^(kk-1) <= value < 10^kk
    if 0 <= k and kk <= 21:
        text = digits + "0" * k + ".0"
    elif 0 < kk <= 21:
        text = digits[:kk] + "." + digits[kk:]
    elif -6 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = digits + "e" + str(kk - 1)
    else:
        text = digits[0] + "." + digits[1:] + "e" + str(kk - 1)
    return sign + text


def _emit_debug(writer, value):
    """rapidjson Value::Accept into ``writer``."""
    if isinstance(value, dict):
        writer.start_object()
        for key, member in value.items():
            writer.key(_to_bytes(key))
            _emit_debug(writer, member)
        writer.end_object()
    elif isinstance(value, list):
        writer.start_array()
        for element in value:
            _emit_debug(writer, element)
        writer.end_array()
    elif isinstance(value, str):
        writer.string(_to_bytes(value))
    elif value is None or isinstance(value, bool):
        writer.raw({None: "null", True: "true", False: "false"}[value])
    elif isinstance(value, int) and -2**63 <= value < 2**64:
        writer.raw(str(value))
    else:
        number = float(value)  # a double, or an integer too big for 64 bits
        if math.isfinite(number):
            writer.raw(_rapidjson_dtoa(number))
        else:
            writer.failed_value()  # Writer::Double refuses NaN/Inf: the rendering stops


def _debug_string(value):
    """JsonValueToDebugString: single-line arrays, cut after 256 bytes."""
    writer = _PrettyWriter(max_bytes=256)
    writer.single_line_arrays = True
    try:
        _emit_debug(writer, value)
    except _StopWriting:
        pass
    return writer.text()


# ---------------------------------------------------------------------------------------------
# Signature metadata.
# ---------------------------------------------------------------------------------------------


def _dtype_name(dtype):
    """DataTypeString(): "float", "int32", "string", "half", ..."""
    return types_pb2.DataType.Name(tf.as_dtype(dtype).as_datatype_enum)[3:].lower()


class _Signature:
    """One SignatureDef of a loaded SavedModel: name, function, input dtypes, feed names."""

    def __init__(self, name, function):
        self.name = name
        self.function = function
        specs = function.structured_input_signature[1]
        self.input_dtypes = {alias: specs[alias].dtype for alias in sorted(specs)}
        feeds = [t.name for t in function.inputs[:len(specs)]]
        self.feed_names = dict(zip(sorted(specs), feeds)) if len(feeds) == len(specs) else {}


def _get_signature(model, requested_name, default_name):
    """HttpRestApiHandler::GetInfoMap."""
    name = requested_name or default_name
    if name not in model.signatures:
        raise _invalid('Serving signature name: "', name, '" not found in signature def')
    return _Signature(name, model.signatures[name])


# ---------------------------------------------------------------------------------------------
# JSON values -> tensors (json_tensor.cc FillPredictRequestFromJson and helpers).
# ---------------------------------------------------------------------------------------------

_INT_RANGES = {  # rapidjson IsInt / IsInt64 / IsUint / IsUint64, by signature dtype
    "int8": (-2**31, 2**31 - 1), "int16": (-2**31, 2**31 - 1), "int32": (-2**31, 2**31 - 1),
    "uint8": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1),
    "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}
_FLOAT_TYPES = ("float", "double")


def _type_error(value, dtype):
    return _invalid("JSON Value: ", _debug_string(value), " Type: ", _json_type(value),
                    " is not of expected type: ", dtype)


def _base64_decode(value):
    """JsonDecodeBase64Object with absl::Base64Unescape's leniency (whitespace, padding)."""
    if not _is_base64_object(value):
        raise _invalid("JSON Value: ", _debug_string(value),
                       " not formatted correctly for base64 data")
    text = re.sub(r"[ \t\n\v\f\r]", "", value["b64"])
    data = text.rstrip("=.")
    pads = len(text) - len(data)
    bad = (re.search(r"[^A-Za-z0-9+/]", data) or len(data) % 4 == 1
           or pads not in (0, -len(data) % 4))
    if bad:
        raise _invalid("Unable to base64 decode")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _convert_leaf(value, dtype):
    """AddValueToTensor for one non-list JSON value (objects only as b64 strings)."""
    if isinstance(value, dict):
        if dtype == "string":
            return _base64_decode(value)
        raise _type_error(value, dtype)
    if dtype in _FLOAT_TYPES:
        if type(value) in (int, float):
            return value
    elif dtype in _INT_RANGES:
        low, high = _INT_RANGES[dtype]
        if type(value) is int and low <= value <= high:
            return value
    elif dtype == "bool":
        if isinstance(value, bool):
            return value
    elif dtype == "string":
        if isinstance(value, str):
            return _to_bytes(value)
    else:
        raise ServingError("UNIMPLEMENTED", "Conversion of JSON Value: %s to type: %s"
                           % (_debug_string(value), dtype))
    raise _type_error(value, dtype)


def _fast_leaves(values, dtype):
    """The converted values of a list of plain numbers, or None to go element by element."""
    if dtype in _FLOAT_TYPES:
        if all(type(v) in (int, float) for v in values):
            return values
    elif dtype in _INT_RANGES:
        if values and all(type(v) is int for v in values):
            low, high = _INT_RANGES[dtype]
            if low <= min(values) and max(values) <= high:
                return values
    return None


def _dense_shape(value):
    """GetDenseTensorShape: sizes of the first element at each nesting level."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _fill_values(value, level, shape, dtype, out):
    """FillTensorProto: checks ``value`` against ``shape``, appends its leaves to ``out``."""
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise _invalid("JSON Value: ", _debug_string(value), " found at incorrect level: ",
                           level + 1, " in the JSON DOM. Expected at level: ", rank)
        out.append(_convert_leaf(value, dtype))
        return
    if level >= rank:
        raise _invalid("Encountered list at unexpected level: ", level, " expected < ", rank)
    if len(value) != shape[level]:
        raise _invalid("Encountered list at unexpected size: ", len(value), " at level: ", level,
                       " expected size: ", shape[level])
    if level == rank - 1:
        fast = _fast_leaves(value, dtype)
        if fast is not None:
            out.extend(fast)
            return
    for element in value:
        _fill_values(element, level + 1, shape, dtype, out)


class _Tensor:
    """A request tensor being built: dtype name, shape, flat converted values."""

    def __init__(self, dtype, shape, values):
        self.dtype = dtype
        self.shape = shape
        self.values = values


def _tensor_from_json(value, dtype):
    shape = _dense_shape(value)
    values = []
    _fill_values(value, 0, shape, dtype, values)
    return _Tensor(dtype, shape, values)


def _add_instance_item(item, name, dtypes, tensors):
    """AddInstanceItem: one instance's value for input ``name``, same size/shape as before."""
    if name not in dtypes:
        raise _invalid("JSON object: does not have named input: ", name)
    item_tensor = _tensor_from_json(item, _dtype_name(dtypes[name]))
    stacked = tensors.get(name)
    if stacked is None:
        item_tensor.item_size = len(item_tensor.values)
        tensors[name] = item_tensor
        return
    if stacked.item_size != len(item_tensor.values):
        raise _invalid("Expecting tensor size: ", stacked.item_size, " but got: ",
                       len(item_tensor.values))
    if stacked.shape != item_tensor.shape:
        raise _invalid("Expecting shape ", _shape_string(stacked.shape), " but got: ",
                       _shape_string(item_tensor.shape))
    stacked.values.extend(item_tensor.values)


def _shape_string(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _is_instance_object(value):
    return isinstance(value, dict) and not _is_base64_object(value)


def _tensors_from_instances(instances, dtypes):
    """FillTensorMapFromInstancesList (row format)."""
    if not isinstance(instances[0], dict) and len(dtypes) > 1:
        raise _invalid("instances is a plain list, but expecting list of objects as multiple "
                       "input tensors required as per tensorinfo_map")
    objects = _is_instance_object(instances[0])
    tensors = {}
    for index, element in enumerate(instances):
        if objects:
            _add_instance_object(index, element, dtypes, tensors)
        else:
            if _is_instance_object(element):
                raise _invalid("Expecting value/list but got object at item ", index,
                               " of input list")
            name = next(iter(dtypes))
            _add_wrapped_item(element, name, dtypes, tensors,
                              "Failed to process element: %d of 'instances' list. " % index)
    for tensor in tensors.values():
        tensor.shape = [len(instances)] + tensor.shape  # stacked: one more dimension
    return tensors


def _add_instance_object(index, element, dtypes, tensors):
    if not _is_instance_object(element):
        raise _invalid("Expecting object but got list at item ", index, " of input list")
    for name, item in element.items():
        _add_wrapped_item(item, name, dtypes, tensors,
                          "Failed to process element: %d key: %s of 'instances' list. "
                          % (index, name))
    if set(element) != set(dtypes):
        raise _invalid("Failed to process element: ", index, " of 'instances' list. JSON "
                       "object: ", _debug_string(element), " keys must be equal to: ",
                       ",".join(sorted(dtypes)))


def _add_wrapped_item(item, name, dtypes, tensors, context):
    try:
        _add_instance_item(item, name, dtypes, tensors)
    except ServingError as err:
        raise _invalid(context, "Error: ", err.status_string()) from None


def _tensors_from_inputs(inputs, dtypes):
    """FillTensorMapFromInputsMap (columnar format)."""
    if not isinstance(inputs, dict) or _is_base64_object(inputs):
        if len(dtypes) > 1:
            raise _invalid("inputs is a plain value/list, but expecting an object as multiple "
                           "input tensors required as per tensorinfo_map")
        name, dtype = next(iter(dtypes.items()))
        return {name: _tensor_from_json(inputs, _dtype_name(dtype))}
    tensors = {}
    for name, dtype in dtypes.items():  # keys that are not signature inputs are ignored
        if name not in inputs:
            raise _invalid("Missing named input: ", name, " in 'inputs' object.")
        tensors[name] = _tensor_from_json(inputs[name], _dtype_name(dtype))
    return tensors


class PredictRequest:
    """A parsed request: ``format`` is "row" or "columnar", ``inputs`` maps alias -> ndarray."""

    def __init__(self, signature, request_format, inputs):
        self.signature = signature
        self.format = request_format
        self.inputs = inputs


def _format_error(doc, *parts):
    return _invalid("JSON Value: ", _debug_string(doc), " ", *parts)


def parse_predict_request(model, body, default_signature=DEFAULT_SIGNATURE):
    """FillPredictRequestFromJson + the request input checks of predict_util.cc."""
    doc = _load_json(body)
    if not isinstance(doc, dict):
        raise _format_error(doc, "Is not object")
    signature_name = doc.get("signature_name", "")
    if not isinstance(signature_name, str):
        raise _format_error(doc, "not formatted correctly. 'signature_name' key must be a "
                                 "string value.")
    signature = _get_signature(model, signature_name, default_signature)
    if not signature.input_dtypes:
        raise _invalid("Failed to get input map for signature: ", signature_name or "DEFAULT")
    if "instances" in doc:
        if "inputs" in doc:
            raise _format_error(doc, "Not formatted correctly expecting only one of 'inputs' "
                                     "or 'instances' keys to exist ")
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _format_error(doc, "Expecting 'instances' to be an list/array")
        if not instances:
            raise _format_error(doc, "No values in 'instances' array")
        request_format = "row"
        tensors = _tensors_from_instances(instances, signature.input_dtypes)
    elif "inputs" in doc:
        request_format = "columnar"
        tensors = _tensors_from_inputs(doc["inputs"], signature.input_dtypes)
    else:
        raise _invalid("Missing 'inputs' or 'instances' key")
    _check_request_inputs(signature, tensors)
    arrays = {name: _to_array(tensor, signature.input_dtypes[name])
              for name, tensor in tensors.items()}
    return PredictRequest(signature, request_format, arrays)


def _check_request_inputs(signature, tensors):
    """VerifyRequestInputsSize (predict_util.cc); GetInputValues' checks cannot fail after it."""
    sent, wanted = sorted(tensors), sorted(signature.input_dtypes)
    if sent != wanted:
        raise _invalid(
            "input size does not match signature: ", len(sent), "!=", len(wanted),
            " len({", ",".join(sent), "}) != len({", ",".join(wanted), "}). Sent extra: {",
            ",".join(n for n in sent if n not in wanted), "}. Missing but required: {",
            ",".join(n for n in wanted if n not in sent), "}.")


def _to_array(tensor, dtype):
    """TensorProto -> Tensor (Tensor::FromProto: narrow integer types wrap around)."""
    dtype = tf.as_dtype(dtype)
    if tensor.dtype == "string":
        flat = np.empty(len(tensor.values), dtype=object)
        flat[:] = tensor.values
        return flat.reshape(tensor.shape)
    if tensor.dtype in _INT_RANGES:
        wide = np.uint64 if tensor.dtype == "uint64" else np.int64
        return np.array(tensor.values, dtype=wide).astype(dtype.as_numpy_dtype).reshape(
            tensor.shape)
    if tensor.dtype in _FLOAT_TYPES:
        with np.errstate(over="ignore"):
            return np.array(tensor.values, dtype=np.float64).astype(
                dtype.as_numpy_dtype).reshape(tensor.shape)
    if tensor.dtype == "bool":
        return np.array(tensor.values, dtype=bool).reshape(tensor.shape)
    return tf.zeros(tensor.shape, dtype=dtype)  # a type without JSON mapping: no values given


# ---------------------------------------------------------------------------------------------
# Running the signature.
# ---------------------------------------------------------------------------------------------

_OP_SUFFIX = re.compile(r"\s*\[Op:[^\]\n]*\](?: name: [^\n]*)?$")


def _op_error_message(message):
    """The runtime's message without what Python's eager runtime adds around it.

    atomic_function.py InterpolateRuntimeError puts "Graph execution error:", then for each node
    "Detected at node ... defined at (most recent call last):" with indented traceback frames or
    "<stack traces unavailable>", before the message; eager execution appends " [Op:...]".
    """
    lines = message.split("\n")
    if lines[:2] == ["Graph execution error:", ""]:
        lines = lines[2:]
    while lines and lines[0].startswith("Detected at node "):
        lines.pop(0)
        while lines and (lines[0] in ("", "<stack traces unavailable>")
                         or lines[0].startswith("  ")):
            lines.pop(0)
    return _OP_SUFFIX.sub("", "\n".join(lines))


def run_signature(signature, arrays):
    """Session::Run with every output fetched; returns alias -> (ndarray, dtype name)."""
    feeds = {name: tf.convert_to_tensor(array, dtype=signature.input_dtypes[name])
             for name, array in arrays.items()}
    try:
        result = signature.function(**feeds)
    except tf.errors.OpError as err:
        code = _CODE_NAMES.get(err.error_code, "UNKNOWN")
        raise ServingError(code, _op_error_message(err.message)) from None
    except (TypeError, ValueError) as err:
        raise _invalid(err) from None
    if not isinstance(result, dict):
        result = {"output_0": result}
    return {name: _output_array(value) for name, value in result.items()}


def _output_array(tensor):
    """(ndarray, dtype name); strings as object arrays of bytes, scalars as 0-d arrays."""
    dtype = _dtype_name(tensor.dtype)
    array = np.asarray(tensor.numpy(), dtype=object if dtype == "string" else None)
    return array, dtype


# ---------------------------------------------------------------------------------------------
# Tensors -> response JSON (json_tensor.cc MakeJsonFromTensors, WriteDecimal).
# ---------------------------------------------------------------------------------------------


def _decimal_texts(flat, is_double):
    """WriteDecimal for each value: %g, or 9/17 digits if that does not round-trip, '.0'."""
    wide = flat.astype(np.float64).tolist()
    short = ["%g" % v for v in wide]
    parsed = np.array(short, dtype=np.float64)
    if not is_double:
        with np.errstate(over="ignore"):
            parsed = parsed.astype(np.float32)
    round_trips = (parsed == flat).tolist()
    long_format = "%.17g" if is_double else "%.9g"
    texts = [text if same else long_format % value
             for text, same, value in zip(short, round_trips, wide)]
    texts = [text if ("." in text or "e" in text) else text + ".0" for text in texts]
    for i in np.flatnonzero(~np.isfinite(flat)).tolist():
        texts[i] = "NaN" if math.isnan(wide[i]) else ("-Infinity" if wide[i] < 0 else "Infinity")
    return texts


_INTEGER_OUTPUTS = ("int8", "int16", "int32", "uint8", "int64", "uint32", "uint64")


class _OutputTensor:
    """An output ready to write: shape, and either raw JSON texts or b64 values per element."""

    def __init__(self, name, array, dtype):
        self.name = name
        self.shape = array.shape
        self.b64 = None
        self.texts = None
        flat = array.reshape(-1)
        if dtype == "string" and name.endswith("_bytes"):  # IsNamedTensorBytes
            self.b64 = [base64.b64encode(v).decode("ascii") for v in flat.tolist()]
        elif dtype == "string":
            self.texts = [_quote(v) for v in flat.tolist()]
        elif dtype in _FLOAT_TYPES:
            self.texts = _decimal_texts(flat, dtype == "double")
        elif dtype in _INTEGER_OUTPUTS:
            self.texts = [str(v) for v in flat.tolist()]
        elif dtype == "bool":
            self.texts = ["true" if v else "false" for v in flat.tolist()]
        elif flat.size:
            raise _invalid("Failed to write JSON value for tensor type: ", dtype)
        else:
            self.texts = []

    def write(self, writer, dim, offset):
        """AddTensorValues from dimension ``dim``; returns the offset after the values."""
        if dim == len(self.shape):
            self._write_leaf(writer, offset)
            return offset + 1
        size = self.shape[dim]
        if dim == len(self.shape) - 1 and self.texts is not None:
            writer.raw_array(self.texts[offset:offset + size])
            return offset + size
        writer.start_array()
        for _ in range(size):
            offset = self.write(writer, dim + 1, offset)
        writer.end_array()
        return offset

    def _write_leaf(self, writer, offset):
        if self.texts is not None:
            writer.raw(self.texts[offset])
            return
        writer.start_object()
        writer.key(b"b64")
        writer.string(self.b64[offset].encode("ascii"))
        writer.end_object()


def _row_batch_size(outputs):
    batch_size = -1
    for name, (array, _) in outputs:
        if array.ndim == 0:
            raise _invalid("Tensor name: ", name, " has no shape information ")
        if batch_size >= 0 and batch_size != array.shape[0]:
            raise _invalid("Tensor name: ", name, " has inconsistent batch size: ",
                           array.shape[0], " expecting: ", batch_size)
        batch_size = array.shape[0]
    return batch_size


def make_json_from_tensors(outputs, request_format):
    """MakeJsonFromTensors: ``outputs`` maps alias -> (ndarray, dtype name)."""
    if not outputs:
        raise _invalid("Cannot convert empty tensor map to JSON")
    ordered = sorted(outputs.items())
    many = len(ordered) > 1
    writer = _PrettyWriter()
    writer.start_object()
    if request_format == "row":
        batch_size = _row_batch_size(ordered)
        tensors = [_OutputTensor(name, array, dtype) for name, (array, dtype) in ordered]
        writer.key(b"predictions")
        writer.start_array()
        offsets = [0] * len(tensors)
        for _ in range(batch_size):
            if many:
                writer.start_object()
            writer.single_line_arrays = True
            for i, tensor in enumerate(tensors):
                if many:
                    writer.key(tensor.name.encode("utf-8"))
                offsets[i] = tensor.write(writer, 1, offsets[i])
            writer.single_line_arrays = False
            if many:
                writer.end_object()
        writer.end_array()
    else:
        tensors = [_OutputTensor(name, array, dtype) for name, (array, dtype) in ordered]
        writer.key(b"outputs")
        if many:
            writer.start_object()
        for tensor in tensors:
            if many:
                writer.key(tensor.name.encode("utf-8"))
            tensor.write(writer, 0, 0)
        if many:
            writer.end_object()
    writer.end_object()
    return writer.text()


def make_json_from_status(error):
    """MakeJsonFromStatus: {"error": <message>}."""
    writer = _PrettyWriter()
    writer.start_object()
    writer.key(b"error")
    writer.string(_to_bytes(error.message))
    writer.end_object()
    return writer.text()


# ---------------------------------------------------------------------------------------------
# Public entry points.
# ---------------------------------------------------------------------------------------------


def predict(model, body, default_signature=DEFAULT_SIGNATURE):
    """POST /v1/models/<name>:predict with ``body``; returns (http_status, response_json)."""
    try:
        request = parse_predict_request(model, body, default_signature)
        outputs = run_signature(request.signature, request.inputs)
        return 200, make_json_from_tensors(outputs, request.format)
    except ServingError as err:
        return err.http_status, make_json_from_status(err)


def _task_size(request):
    """BatchingSession::ComputeInputSize (ComputeTensorBatchSize in batching_util.h)."""
    size = None
    for array in request.inputs.values():
        if array.ndim == 0:
            raise _invalid("Batching Run() input tensors must have at least one dimension")
        if size is not None and array.shape[0] != size:
            raise _invalid("Batching Run() input tensors must have equal 0th-dimension size")
        size = array.shape[0]
    if size is None:
        raise _invalid("Batching Run() must have at least one input tensor")
    return size


def _merge_inputs(signature, requests):
    """MergeInputTensors without padding: equal shapes apart from dimension 0, concatenated."""
    first = requests[0].inputs
    for request in requests[1:]:
        for name, array in request.inputs.items():
            if array.shape[1:] != first[name].shape[1:]:
                tensor_name = signature.feed_names.get(name, name)
                raise ServingError(
                    "FAILED_PRECONDITION",
                    "Tensors with name '" + tensor_name + "' from different tasks have "
                    "different shapes and padding is turned off. Set pad_variable_length_inputs "
                    "to true, or ensure that all tensors with the same name have equal "
                    "dimensions starting with the first dim.")
    return {name: np.concatenate([r.inputs[name] for r in requests])
            for name in signature.input_dtypes}


def _split_outputs(outputs, sizes):
    """SplitOutputTensors: every output must have dim 0 equal to the sum of the task sizes."""
    cuts = np.cumsum(sizes)[:-1]
    per_task = [{} for _ in sizes]
    for name, (array, dtype) in sorted(outputs.items()):
        if array.ndim == 0:
            raise ServingError("FAILED_PRECONDITION", "Batched output tensor has 0 dimensions")
        if array.shape[0] != sum(sizes):
            raise ServingError(
                "FAILED_PRECONDITION", "Batched output tensor's 0th dimension does not equal "
                "the sum of the 0th dimension sizes of the input tensors")
        for task, part in zip(per_task, np.split(array, cuts)):
            task[name] = (part, dtype)
    return per_task


def predict_batch(model, bodies, default_signature=DEFAULT_SIGNATURE):
    """Several predict requests served through one batch, as TF Serving's batching session does.

    Each request is parsed on its own (a bad request fails alone), its inputs must share one
    0-th dimension size, then all inputs are concatenated along dimension 0 (their other
    dimensions must be equal: TF Serving without pad_variable_length_inputs fails the whole
    batch with FAILED_PRECONDITION otherwise), the signature runs once and every output is split
    back along dimension 0. Returns a list of (http_status, response_json), one per body.
    Raises ValueError if the requests name different signatures (TF Serving would batch them
    separately).
    """
    results = [None] * len(bodies)
    tasks = []  # (index, request, size)
    for index, body in enumerate(bodies):
        try:
            request = parse_predict_request(model, body, default_signature)
            tasks.append((index, request, _task_size(request)))
        except ServingError as err:
            results[index] = (err.http_status, make_json_from_status(err))
    if not tasks:
        return results
    if len({request.signature.name for _, request, _ in tasks}) > 1:
        raise ValueError("predict_batch needs requests to a single signature")
    signature = tasks[0][1].signature
    try:
        merged = _merge_inputs(signature, [request for _, request, _ in tasks])
        outputs = run_signature(signature, merged)
        per_task = _split_outputs(outputs, [size for _, _, size in tasks])
    except ServingError as err:
        for index, _, _ in tasks:
            results[index] = (err.http_status, make_json_from_status(err))
        return results
    for (index, request, _), task_outputs in zip(tasks, per_task):
        try:
            results[index] = (200, make_json_from_tensors(task_outputs, request.format))
        except ServingError as err:
            results[index] = (err.http_status, make_json_from_status(err))
    return results


_PREDICT_PATH = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?:(classify|regress|"
    r"predict)")


def make_http_server(model, model_name, port=0, default_signature=DEFAULT_SIGNATURE):
    """A loopback http.server answering POST /v1/models/<model_name>[...]:predict.

    Only predict is served; versions and labels in the path are accepted and ignored. Call
    ``serve_forever()`` (e.g. in a thread) and ``shutdown()``; ``server_address`` has the port.
    """
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            match = _PREDICT_PATH.fullmatch(self.path)
            if not match or match.group(4).lower() != "predict":
                status, text = _error_reply(_invalid("Malformed request: POST ", self.path))
            elif match.group(1) != model_name:
                status, text = _error_reply(ServingError(
                    "NOT_FOUND", "Servable not found for request: Latest(%s)" % match.group(1)))
            else:
                status, text = predict(model, body, default_signature)
            data = text.encode("utf-8", "surrogateescape")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _error_reply(error):
    return error.http_status, make_json_from_status(error)
