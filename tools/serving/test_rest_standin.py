"""Tests of rest_standin against TF Serving's documented REST behaviour.

Run from the repository root:
    .venv/bin/python -m unittest tools/serving/test_rest_standin.py

A small TF1-style SavedModel is built in a temporary directory (graph + placeholders +
SavedModelBuilder, method_name tensorflow/serving/predict). Expected values are written by hand
from tensorflow/serving's tensorflow_serving/g3doc/api_rest.md examples (half_plus_three, the
tag/signal/sensor request, the b64 image/caption example), from the cases in
tensorflow_serving/util/json_tensor_test.cc and model_servers/http_rest_api_handler_test.cc, and
from the error texts in json_tensor.cc, http_rest_api_handler.cc and batching_session.cc.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # tf.compat.v1 deprecation notices

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rest_standin  # noqa: E402

tf1 = tf.compat.v1


def _signature(inputs, outputs):
    info = tf1.saved_model.utils.build_tensor_info
    return tf1.saved_model.signature_def_utils.build_signature_def(
        inputs={name: info(t) for name, t in inputs.items()},
        outputs={name: info(t) for name, t in outputs.items()},
        method_name="tensorflow/serving/predict")


def _build_signatures():
    """The graph's signatures; must be called inside the graph's context."""
    sigs = {}
    x = tf1.placeholder(tf.float32, None, name="x")
    sigs["serving_default"] = _signature({"x": x}, {"y": 0.5 * x + 3.0})  # half_plus_three
    sigs["half_plus_two"] = _signature({"x": x}, {"y": 0.5 * x + 2.0})

    tag = tf1.placeholder(tf.string, [None], name="tag")
    signal = tf1.placeholder(tf.int32, [None, None], name="signal")
    sensor = tf1.placeholder(tf.int32, [None, None, None], name="sensor")
    sigs["multi"] = _signature(
        {"tag": tag, "signal": signal, "sensor": sensor},
        {"tag": tf.identity(tag), "signal_sum": tf.reduce_sum(signal, axis=1),
         "sensor_sum": tf.reduce_sum(sensor, axis=[1, 2])})

    image = tf1.placeholder(tf.string, None, name="image")
    sigs["bytes"] = _signature({"image": image}, {
        "image_bytes": tf.identity(image), "caption": tf.identity(image),
        "length": tf.strings.length(image)})

    i32 = tf1.placeholder(tf.int32, None, name="i32")
    u8 = tf1.placeholder(tf.uint8, None, name="u8")
    f32 = tf1.placeholder(tf.float32, None, name="f32")
    sigs["types"] = _signature({"i32": i32, "u8": u8, "f32": f32}, {
        "i32_out": i32 + 1, "u8_out": tf.identity(u8), "f32_out": f32 * 2.0})

    flag = tf1.placeholder(tf.bool, None, name="flag")
    sigs["flags"] = _signature({"flag": flag}, {"negated": tf.logical_not(flag)})

    checked = tf1.placeholder(tf.float32, None, name="checked")
    with tf.control_dependencies(
            [tf1.debugging.assert_non_negative(checked, message="x must be non-negative")]):
        checked_out = tf.identity(checked)
    sigs["assert"] = _signature({"x": checked}, {"y": checked_out})

    sigs["float_out"] = _signature({"x": x}, {"y": tf.identity(x)})
    sigs["double_out"] = _signature({"x": x}, {"y64": tf.cast(x, tf.float64)})
    sigs["two_batches"] = _signature({"x": x}, {
        "per_item": tf.identity(x), "total": tf.reduce_sum(x, keepdims=True)})
    sigs["scalar_out"] = _signature({"x": x}, {"total": tf.reduce_sum(x)})
    return sigs


def build_test_model(path):
    graph = tf.Graph()
    with graph.as_default():
        signatures = _build_signatures()
        with tf1.Session(graph=graph) as session:
            builder = tf1.saved_model.Builder(path)
            builder.add_meta_graph_and_variables(
                session, [tf1.saved_model.tag_constants.SERVING],
                signature_def_map=signatures)
            builder.save()


class _CountingFunction:
    """Forwards to a signature function and counts the calls."""

    def __init__(self, function):
        self._function = function
        self.calls = 0

    def __call__(self, **kwargs):
        self.calls += 1
        return self._function(**kwargs)

    def __getattr__(self, name):
        return getattr(self._function, name)


class _CountingModel:
    def __init__(self, model):
        self.signatures = {name: _CountingFunction(fn) for name, fn in model.signatures.items()}


class RestStandinTestBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rest_standin_test_")
        path = os.path.join(cls.tmp, "model", "1")
        build_test_model(path)
        cls.model = tf.saved_model.load(path)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def predict(self, request, expected_status=200):
        body = request if isinstance(request, (str, bytes)) else json.dumps(request)
        status, text = rest_standin.predict(self.model, body)
        self.assertEqual(status, expected_status, text)
        return text, json.loads(text)

    def assertError(self, request, message, status=400):
        text, doc = self.predict(request, status)
        self.assertEqual(list(doc), ["error"])
        self.assertEqual(doc["error"], message)
        return text


class RowFormatTest(RestStandinTestBase):
    def test_half_plus_three_doc_example(self):
        # api_rest.md "Example": {"instances": [1.0,2.0,5.0]} -> {"predictions": [3.5, 4.0, 5.5]}
        text, doc = self.predict('{"instances": [1.0,2.0,5.0]}')
        self.assertEqual(doc, {"predictions": [3.5, 4.0, 5.5]})
        # rapidjson PrettyWriter layout: single-line items, closing bracket on its own line.
        self.assertEqual(text, '{\n    "predictions": [3.5, 4.0, 5.5\n    ]\n}')

    def test_list_of_tensors_of_shape_1_2(self):
        # api_rest.md: "List of 2 tensors each of [1, 2] shape"; ints are fine for DT_FLOAT.
        _, doc = self.predict({"instances": [[[1, 2]], [[3, 4]]]})
        self.assertEqual(doc, {"predictions": [[[3.5, 4.0]], [[4.5, 5.0]]]})

    def test_signature_name_selects_non_default_signature(self):
        # http_rest_api_handler_test.cc Predict: half_plus_two on [[1.0, 2.0], [3.0, 4.0]].
        _, doc = self.predict({"signature_name": "half_plus_two",
                               "instances": [[1.0, 2.0], [3.0, 4.0]]})
        self.assertEqual(doc, {"predictions": [[2.5, 3.0], [3.5, 4.0]]})

    def test_empty_signature_name_means_default(self):
        _, doc = self.predict({"signature_name": "", "instances": [1.0]})
        self.assertEqual(doc, {"predictions": [3.5]})

    def test_several_named_inputs_doc_example(self):
        # api_rest.md row example (its stray "]" after the second signal list removed).
        request = {"signature_name": "multi", "instances": [
            {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
            {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}
        text, doc = self.predict(request)
        self.assertEqual(doc, {"predictions": [
            {"sensor_sum": 10, "signal_sum": 15, "tag": "foo"},
            {"sensor_sum": 23, "signal_sum": 15, "tag": "bar"}]})
        self.assertEqual(text, '{\n    "predictions": [\n'
                               '        {\n'
                               '            "sensor_sum": 10,\n'
                               '            "signal_sum": 15,\n'
                               '            "tag": "foo"\n'
                               '        },\n'
                               '        {\n'
                               '            "sensor_sum": 23,\n'
                               '            "signal_sum": 15,\n'
                               '            "tag": "bar"\n'
                               '        }\n'
                               '    ]\n}')

    def test_single_input_may_also_be_named_in_objects(self):
        _, doc = self.predict({"instances": [{"x": 1.0}, {"x": 2.0}]})
        self.assertEqual(doc, {"predictions": [3.5, 4.0]})

    def test_text_after_the_json_value_is_ignored(self):
        # json_tensor_test.cc TensorFromNonNullTerminatedBuffer (kParseStopWhenDoneFlag).
        _, doc = self.predict('{"instances": [1.0]}X')
        self.assertEqual(doc, {"predictions": [3.5]})


class ColumnarFormatTest(RestStandinTestBase):
    def test_single_input_value(self):
        # http_rest_api_handler_test.cc: {"inputs": [3.0, 4.0]} -> {"outputs": [3.5, 4.0]}.
        text, doc = self.predict({"signature_name": "half_plus_two", "inputs": [3.0, 4.0]})
        self.assertEqual(doc, {"outputs": [3.5, 4.0]})
        self.assertEqual(text, '{\n    "outputs": [\n        3.5,\n        4.0\n    ]\n}')

    def test_single_input_as_object_extra_keys_ignored(self):
        _, doc = self.predict({"inputs": {"x": [1.0], "not_an_input": [7]}})
        self.assertEqual(doc, {"outputs": [3.5]})

    def test_several_inputs_doc_example(self):
        # api_rest.md columnar representation of the tag/signal/sensor example.
        _, doc = self.predict({"signature_name": "multi", "inputs": {
            "tag": ["foo", "bar"],
            "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
            "sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}})
        self.assertEqual(doc, {"outputs": {"sensor_sum": [10, 23], "signal_sum": [15, 15],
                                           "tag": ["foo", "bar"]}})

    def test_inputs_need_not_share_dimension_0(self):
        _, doc = self.predict({"signature_name": "multi", "inputs": {
            "tag": ["foo"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
            "sensor": [[[1, 2], [3, 4]]]}})
        self.assertEqual(doc, {"outputs": {"sensor_sum": [10], "signal_sum": [15, 15],
                                           "tag": ["foo"]}})

    def test_scalar_output(self):
        _, doc = self.predict({"signature_name": "scalar_out", "inputs": [1.0, 2.0, 3.0]})
        self.assertEqual(doc, {"outputs": 6.0})

    def test_outputs_with_different_dimension_0(self):
        _, doc = self.predict({"signature_name": "two_batches", "inputs": [1.0, 2.0, 3.0]})
        self.assertEqual(doc, {"outputs": {"per_item": [1.0, 2.0, 3.0], "total": [6.0]}})


class StringTest(RestStandinTestBase):
    def test_b64_inputs_and_bytes_output(self):
        # api_rest.md "Encoding binary values": "aW1hZ2UgYnl0ZXM=" is b"image bytes",
        # "YXdlc29tZSBpbWFnZSBieXRlcw==" is b"awesome image bytes".
        _, doc = self.predict({"signature_name": "bytes", "instances": [
            {"b64": "aW1hZ2UgYnl0ZXM="}, {"b64": "YXdlc29tZSBpbWFnZSBieXRlcw=="}]})
        self.assertEqual(doc, {"predictions": [
            {"caption": "image bytes", "image_bytes": {"b64": "aW1hZ2UgYnl0ZXM="}, "length": 11},
            {"caption": "awesome image bytes",
             "image_bytes": {"b64": "YXdlc29tZSBpbWFnZSBieXRlcw=="}, "length": 19}]})

    def test_plain_strings_doc_example(self):
        # api_rest.md: "List of 3 scalar tensors": ["foo", "bar", "baz"].
        _, doc = self.predict({"signature_name": "bytes", "instances": ["foo", "bar", "baz"]})
        self.assertEqual(doc["predictions"], [
            {"caption": "foo", "image_bytes": {"b64": "Zm9v"}, "length": 3},
            {"caption": "bar", "image_bytes": {"b64": "YmFy"}, "length": 3},
            {"caption": "baz", "image_bytes": {"b64": "YmF6"}, "length": 3}])

    def test_columnar_b64_scalar_and_utf8_output(self):
        # A single b64 object is a scalar tensor (json_tensor_test.cc bin_tensor).
        _, doc = self.predict({"signature_name": "bytes", "inputs": {"b64": "c2Vhc2lkZQ=="}})
        self.assertEqual(doc, {"outputs": {"caption": "seaside",
                                           "image_bytes": {"b64": "c2Vhc2lkZQ=="},
                                           "length": 7}})
        text, doc = self.predict({"signature_name": "bytes", "inputs": ["h\u00e9"]})
        self.assertEqual(doc["outputs"]["caption"], ["h\u00e9"])  # UTF-8 string, not escaped
        self.assertIn('"h\u00e9"', text)
        self.assertEqual(doc["outputs"]["length"], [3])  # tf.strings.length counts bytes

    def test_bad_base64(self):
        self.assertError({"signature_name": "bytes", "instances": [{"b64": "a"}]},
                         "Failed to process element: 0 of 'instances' list. Error: "
                         "INVALID_ARGUMENT: Unable to base64 decode")

    def test_object_that_is_not_b64(self):
        self.assertError({"signature_name": "bytes", "inputs": [{"b64": 1}]},
                         'JSON Value: {\n    "b64": 1\n} not formatted correctly for base64 data')


class NumberTypesTest(RestStandinTestBase):
    def test_int32_uint8_float32_columnar(self):
        _, doc = self.predict({"signature_name": "types", "inputs": {
            "i32": [-2147483648, 0, 41], "u8": [0, 7, 255], "f32": [1.5, -2, 0.25]}})
        self.assertEqual(doc, {"outputs": {"f32_out": [3.0, -4.0, 0.5],
                                           "i32_out": [-2147483647, 1, 42],
                                           "u8_out": [0, 7, 255]}})

    def test_uint8_out_of_range_wraps(self):
        # No range check in json_tensor.cc (IsInt() only); Tensor::FromProto truncates int_val.
        _, doc = self.predict({"signature_name": "types", "inputs": {
            "i32": [0], "u8": [256, -1, 300, -129, 1000], "f32": [0]}})
        self.assertEqual(doc["outputs"]["u8_out"], [0, 255, 44, 127, 232])

    def test_uint8_needs_an_int32_value(self):
        self.assertError({"signature_name": "types", "inputs": {
            "i32": [0], "u8": [2147483648], "f32": [0]}},
            "JSON Value: 2147483648 Type: Number is not of expected type: uint8")

    def test_int32_rejects_decimals(self):
        self.assertError({"signature_name": "types", "inputs": {
            "i32": [1.0], "u8": [0], "f32": [0]}},
            "JSON Value: 1.0 Type: Number is not of expected type: int32")

    def test_row_type_error_is_wrapped(self):
        # json_tensor_test.cc SingleUnnamedTensorErrors: [[1,2],["a", "b"]].
        self.assertError('{"instances": [[1,2],["a", "b"]]}',
                         "Failed to process element: 1 of 'instances' list. Error: "
                         'INVALID_ARGUMENT: JSON Value: "a" Type: String is not of expected '
                         "type: float")

    def test_booleans(self):
        _, doc = self.predict({"signature_name": "flags", "instances": [True, False]})
        self.assertEqual(doc, {"predictions": [False, True]})
        self.assertError({"signature_name": "flags", "inputs": [1]},
                         "JSON Value: 1 Type: Number is not of expected type: bool")

    def test_nan_and_infinity_tokens(self):
        # api_rest.md "JSON conformance"; rapidjson also reads Inf and -Inf.
        text, _ = self.predict('{"signature_name": "float_out", '
                               '"instances": [NaN, Infinity, -Infinity, Inf, -Inf]}')
        self.assertEqual(text, '{\n    "predictions": [NaN, Infinity, -Infinity, Infinity, '
                               '-Infinity\n    ]\n}')

    def test_float_output_digits(self):
        # json_tensor_test.cc FromJsonSingleFloatTensorSixDigitPrecision, plus 16777217
        # (float 16777216, whose 6-digit form does not round-trip: 9 digits, then ".0").
        text, _ = self.predict('{"signature_name": "float_out", "instances": '
                               '[9000000, 999999, 0.50000, 0.0003, 0.00003, 555557.5, 16777217]}')
        self.assertEqual(text, '{\n    "predictions": [9e+06, 999999.0, 0.5, 0.0003, 3e-05, '
                               '555557.5, 16777216.0\n    ]\n}')

    def test_double_output_digits(self):
        # float 0.1 as a double is 0.100000001490116...: "%g" does not round-trip, 17 digits.
        text, _ = self.predict('{"signature_name": "double_out", "instances": [0.1, 0.5]}')
        self.assertEqual(text, '{\n    "predictions": [0.10000000149011612, 0.5\n    ]\n}')


class RequestErrorTest(RestStandinTestBase):
    def test_both_instances_and_inputs(self):
        text = self.assertError(
            '{"instances": [1.0], "inputs": [1.0]}',
            'JSON Value: {\n    "instances": [1.0],\n    "inputs": [1.0]\n} Not formatted '
            "correctly expecting only one of 'inputs' or 'instances' keys to exist ")
        self.assertTrue(text.startswith('{\n    "error": "JSON Value: {\\n    \\"instances'))

    def test_json_value_in_messages_is_cut_after_256_bytes(self):
        # JsonValueToDebugString: no more writing once 256 bytes are out. '{\n    "instances": ['
        # is 20 bytes, "0" to ", 9" 28 more, then 4 bytes per two-digit number: 61 ends at 256.
        request = '{"instances": [%s], "inputs": [1]}' % ", ".join(map(str, range(200)))
        rendering = '{\n    "instances": [' + ", ".join(map(str, range(62)))
        self.assertError(request, "JSON Value: " + rendering + " Not formatted correctly "
                         "expecting only one of 'inputs' or 'instances' keys to exist ")

    def test_json_value_in_messages_stops_at_nan(self):
        # rapidjson's Writer refuses to write NaN without kWriteNanAndInfFlag: the rendering
        # ends after the separator that precedes it.
        self.assertError('{"instances": [1.5, NaN], "inputs": [1]}',
                         'JSON Value: {\n    "instances": [1.5,  Not formatted correctly '
                         "expecting only one of 'inputs' or 'instances' keys to exist ")

    def test_neither_instances_nor_inputs(self):
        self.assertError({"signature_name": "half_plus_two"},
                         "Missing 'inputs' or 'instances' key")

    def test_unknown_signature(self):
        self.assertError({"signature_name": "nope", "instances": [1.0]},
                         'Serving signature name: "nope" not found in signature def')

    def test_signature_name_must_be_a_string(self):
        self.assertError('{"signature_name": 5, "instances": [1.0]}',
                         'JSON Value: {\n    "signature_name": 5,\n    "instances": [1.0]\n} '
                         "not formatted correctly. 'signature_name' key must be a string value.")

    def test_instances_must_be_a_non_empty_list(self):
        self.assertError('{"instances": 1.0}',
                         "JSON Value: {\n    \"instances\": 1.0\n} Expecting 'instances' to be "
                         "an list/array")
        self.assertError('{"instances": []}',
                         "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array")

    def test_json_syntax_errors(self):
        self.assertError("", "JSON Parse error: The document is empty")
        self.assertError('{"instances": [1.0, x]}', "JSON Parse error: Invalid value. at offset: 20")
        self.assertError('{"instances": [1.0 2.0]}',
                         "JSON Parse error: Missing a comma or ']' after an array element. "
                         "at offset: 19")
        self.assertError("[1.0]", "JSON Value: [1.0] Is not object")

    def test_ragged_list_columnar(self):
        self.assertError({"inputs": [[1.0, 2.0], [3.0]]},
                         "Encountered list at unexpected size: 1 at level: 1 expected size: 2")
        self.assertError({"inputs": [[1.0], 2.0]},
                         "JSON Value: 2.0 found at incorrect level: 2 in the JSON DOM. Expected "
                         "at level: 2")

    def test_ragged_list_within_one_instance(self):
        self.assertError({"instances": [[[1.0, 2.0], [3.0]]]},
                         "Failed to process element: 0 of 'instances' list. Error: "
                         "INVALID_ARGUMENT: Encountered list at unexpected size: 1 at level: 1 "
                         "expected size: 2")

    def test_instances_of_different_sizes(self):
        # json_tensor_test.cc SingleUnnamedTensorErrors: [[1,2],[3,4],[5,6,7]].
        self.assertError('{"instances": [[1,2],[3,4],[5,6,7]]}',
                         "Failed to process element: 2 of 'instances' list. Error: "
                         "INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3")
        self.assertError('{"instances": [[1,2],[3,4],[[5,6]]]}',
                         "Failed to process element: 2 of 'instances' list. Error: "
                         "INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]")

    def test_named_inputs_must_share_dimension_0_in_row_format(self):
        # Row format stacks one item per instance for every input; an input whose items differ
        # between instances cannot be stacked (see json_tensor_test.cc MultipleNamedTensorErrors).
        self.assertError({"signature_name": "multi", "instances": [
            {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
            {"tag": "bar", "signal": [3, 4, 1], "sensor": [[4, 5], [6, 8]]}]},
            "Failed to process element: 1 key: signal of 'instances' list. Error: "
            "INVALID_ARGUMENT: Expecting tensor size: 5 but got: 3")
        self.assertError({"signature_name": "multi", "instances": [
            {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
            {"tag": "bar", "signal": [3, 4, 1, 2, 5]}]},
            "Failed to process element: 1 of 'instances' list. JSON object: {\n"
            '    "tag": "bar",\n    "signal": [3, 4, 1, 2, 5]\n} keys must be equal to: '
            "sensor,signal,tag")

    def test_row_format_needs_objects_for_several_inputs(self):
        self.assertError({"signature_name": "multi", "instances": [["foo"]]},
                         "instances is a plain list, but expecting list of objects as multiple "
                         "input tensors required as per tensorinfo_map")
        self.assertError({"signature_name": "multi", "instances": [
            {"tag": "foo", "signal": [1], "sensor": [[1]]}, [1]]},
            "Expecting object but got list at item 1 of input list")
        self.assertError({"signature_name": "multi", "instances": [
            {"tag": "foo", "signal": [1], "sensor": [[1]], "extra": 1}]},
            "Failed to process element: 0 key: extra of 'instances' list. Error: "
            "INVALID_ARGUMENT: JSON object: does not have named input: extra")

    def test_columnar_missing_named_input(self):
        self.assertError({"signature_name": "multi", "inputs": {"tag": ["a"], "signal": [[1]]}},
                         "Missing named input: sensor in 'inputs' object.")
        self.assertError({"signature_name": "multi", "inputs": [1]},
                         "inputs is a plain value/list, but expecting an object as multiple "
                         "input tensors required as per tensorinfo_map")


class ResponseErrorTest(RestStandinTestBase):
    def test_op_error_from_assert(self):
        _, doc = self.predict({"signature_name": "assert", "instances": [1.0, 2.0]})
        self.assertEqual(doc, {"predictions": [1.0, 2.0]})
        text, doc = self.predict({"signature_name": "assert", "instances": [1.0, -2.0]}, 400)
        self.assertEqual(list(doc), ["error"])
        self.assertTrue(doc["error"].startswith("assertion failed: [x must be non-negative"),
                        doc["error"])
        self.assertNotIn("Graph execution error", doc["error"])
        self.assertNotIn("[Op:", doc["error"])

    def test_row_outputs_need_the_same_dimension_0(self):
        self.assertError({"signature_name": "two_batches", "instances": [1.0, 2.0, 3.0]},
                         "Tensor name: total has inconsistent batch size: 1 expecting: 3")

    def test_row_outputs_need_a_dimension_0(self):
        self.assertError({"signature_name": "scalar_out", "instances": [1.0, 2.0]},
                         "Tensor name: total has no shape information ")


class BatchingTest(RestStandinTestBase):
    def test_requests_are_merged_run_once_and_split(self):
        model = _CountingModel(self.model)
        results = rest_standin.predict_batch(model, [
            '{"instances": [1.0]}', '{"instances": [2.0, 5.0]}', '{"inputs": [3.0]}'])
        self.assertEqual([status for status, _ in results], [200, 200, 200])
        self.assertEqual([json.loads(text) for _, text in results], [
            {"predictions": [3.5]}, {"predictions": [4.0, 5.5]}, {"outputs": [4.5]}])
        self.assertEqual(model.signatures["serving_default"].calls, 1)

    def test_multiple_outputs_split(self):
        requests = [
            {"signature_name": "multi", "instances": [
                {"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]}]},
            {"signature_name": "multi", "instances": [
                {"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}]}]
        results = rest_standin.predict_batch(self.model, [json.dumps(r) for r in requests])
        self.assertEqual([json.loads(text) for _, text in results], [
            {"predictions": [{"sensor_sum": 10, "signal_sum": 15, "tag": "foo"}]},
            {"predictions": [{"sensor_sum": 23, "signal_sum": 15, "tag": "bar"}]}])

    def test_different_non_batch_shapes_fail_the_batch(self):
        results = rest_standin.predict_batch(self.model, [
            '{"instances": [[1.0, 2.0]]}', '{"instances": [[1.0, 2.0, 3.0]]}'])
        message = ("Tensors with name 'x:0' from different tasks have different shapes and "
                   "padding is turned off. Set pad_variable_length_inputs to true, or ensure "
                   "that all tensors with the same name have equal dimensions starting with "
                   "the first dim.")
        self.assertEqual([(s, json.loads(t)) for s, t in results],
                         [(400, {"error": message}), (400, {"error": message})])

    def test_a_bad_request_fails_alone(self):
        results = rest_standin.predict_batch(self.model, ['{"instances": [1.0]}', ""])
        self.assertEqual(results[0], (200, '{\n    "predictions": [3.5\n    ]\n}'))
        self.assertEqual(results[1][0], 400)

    def test_inputs_of_one_request_need_equal_dimension_0(self):
        results = rest_standin.predict_batch(self.model, [json.dumps(
            {"signature_name": "multi", "inputs": {
                "tag": ["foo"], "signal": [[1], [2]], "sensor": [[[1]]]}})])
        self.assertEqual(json.loads(results[0][1]), {
            "error": "Batching Run() input tensors must have equal 0th-dimension size"})

    def test_outputs_need_dimension_0(self):
        results = rest_standin.predict_batch(self.model, [
            '{"signature_name": "scalar_out", "instances": [1.0]}',
            '{"signature_name": "scalar_out", "instances": [2.0]}'])
        self.assertEqual([(s, json.loads(t)) for s, t in results],
                         [(400, {"error": "Batched output tensor has 0 dimensions"})] * 2)

    def test_one_signature_per_batch(self):
        with self.assertRaises(ValueError):
            rest_standin.predict_batch(self.model, [
                '{"instances": [1.0]}', '{"signature_name": "half_plus_two", "instances": [1.0]}'])


class HttpServerTest(RestStandinTestBase):
    def test_post_predict(self):
        server = rest_standin.make_http_server(self.model, "half_plus_three")
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = "http://127.0.0.1:%d/v1/models/" % server.server_address[1]
            request = urllib.request.Request(
                base + "half_plus_three:predict", data=b'{"instances": [1.0,2.0,5.0]}')
            with urllib.request.urlopen(request, timeout=30) as response:
                self.assertEqual(response.status, 200)
                self.assertEqual(response.headers["Content-Type"], "application/json")
                self.assertEqual(json.loads(response.read()), {"predictions": [3.5, 4.0, 5.5]})
            # api_rest.md: an incorrect model name returns 404 with an error body.
            request = urllib.request.Request(base + "half:predict", data=b'{"instances": [1.0]}')
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=30)
            self.assertEqual(caught.exception.code, 404)
            self.assertEqual(json.loads(caught.exception.read()),
                             {"error": "Servable not found for request: Latest(half)"})
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=30)


if __name__ == "__main__":
    unittest.main()
