#!/usr/bin/env python3
"""Writes the hand-made TF.js Layers fixtures under tests/data/tfjs/.

    python3 tests/data/tfjs/make_fixtures.py

keras3/             a Sequential model in Keras 3 spelling, wrapped the way
                    tensorflowjs_converter wraps Keras output ({"keras_version",
                    "backend", "model_config", "training_config"}): InputLayer
                    with batch_shape, DTypePolicy dtypes, weight names with a
                    model prefix or a ":0" suffix, optimizer weights named
                    "adam/...", and the data split over two files.
keras3_functional/  the same layers as a Keras 3 Functional model, whose
                    inbound nodes are {"args": [keras tensor], "kwargs": {}}.

Weight k (in row-major order) of the Dense layer at position p has the value
((37 * k + 11 * p) % 29 - 14) / 32, a float that binary32 represents exactly, so
tests/tfjs_test.c can recompute every weight and compare with ==.
The files are written by this script, not copied from Keras.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def weight(position, k):
    return ((37 * k + 11 * position) % 29 - 14) / 32


def policy():
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "float32"}, "registered_name": None}


def dense(name, units, activation, in_units):
    return {
        "module": "keras.layers", "class_name": "Dense",
        "config": {
            "name": name, "trainable": True, "dtype": policy(),
            "units": units, "activation": activation, "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None}, "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                 "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None,
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, in_units]},
    }


def dropout(name, rate):
    return {"module": "keras.layers", "class_name": "Dropout",
            "config": {"name": name, "trainable": True, "dtype": policy(),
                       "rate": rate, "seed": None, "noise_shape": None},
            "registered_name": None}


def input_layer():
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [None, 6], "dtype": "float32",
                       "sparse": False, "name": "input_layer"},
            "registered_name": None}


# (layer config, position in the layer list counting InputLayer, input units)
LAYERS = [
    (dense("dense", 8, "relu", 6), 2, 6),
    (dropout("dropout", 0.25), 3, 8),
    (dense("dense_1", 8, "tanh", 8), 4, 8),
    (dense("dense_2", 3, "softmax", 8), 5, 8),
]


def weight_entries(names):
    """Returns manifest entries and their little-endian float32 data."""
    specs, data = [], b""
    for (layer, position, in_units), (kernel_name, bias_name) in zip(
            [l for l in LAYERS if l[0]["class_name"] == "Dense"], names):
        units = layer["config"]["units"]
        kernel = [weight(position, k) for k in range(in_units * units)]
        bias = [weight(position, in_units * units + k) for k in range(units)]
        specs.append({"name": kernel_name, "shape": [in_units, units], "dtype": "float32"})
        specs.append({"name": bias_name, "shape": [units], "dtype": "float32"})
        data += struct.pack("<%df" % len(kernel), *kernel)
        data += struct.pack("<%df" % len(bias), *bias)
    return specs, data


def optimizer_entries():
    """Adam state as Keras 3 names it; ttypong skips it when importing."""
    specs = [{"name": "adam/iteration", "shape": [], "dtype": "int32"},
             {"name": "adam/sequential_dense_kernel_momentum", "shape": [6, 8], "dtype": "float32"}]
    data = struct.pack("<i", 1) + struct.pack("<48f", *([0.001] * 48))
    return specs, data


def write(dirname, model_json, shards):
    out = os.path.join(HERE, dirname)
    os.makedirs(out, exist_ok=True)
    for name, chunk in shards:
        with open(os.path.join(out, name), "wb") as f:
            f.write(chunk)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model_json, f, indent=1)
        f.write("\n")


def keras3_sequential():
    specs, data = weight_entries([
        ("sequential/dense/kernel", "sequential/dense/bias"),
        ("dense_1/kernel:0", "dense_1/bias:0"),
        ("dense_2/kernel", "dense_2/bias"),
    ])
    opt_specs, opt_data = optimizer_entries()
    data += opt_data
    half = len(data) // 2 + 3  # a split inside a weight, as byte-size sharding does
    config = {
        "name": "sequential", "trainable": True, "dtype": policy(),
        "layers": [input_layer()] + [l[0] for l in LAYERS],
        "build_input_shape": [None, 6],
    }
    model = {
        "format": "layers-model",
        "generatedBy": "keras v3.5.0",
        "convertedBy": "TensorFlow.js Converter v4.22.0",
        "modelTopology": {
            "keras_version": "3.5.0",
            "backend": "tensorflow",
            "model_config": {"module": "keras", "class_name": "Sequential", "config": config,
                             "registered_name": None, "build_config": {"input_shape": [None, 6]}},
            "training_config": {"loss": "categorical_crossentropy",
                                "optimizer_config": {"class_name": "Adam",
                                                     "config": {"learning_rate": 0.001}}},
        },
        "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
                             "weights": specs + opt_specs}],
    }
    write("keras3", model, [("group1-shard1of2.bin", data[:half]),
                            ("group1-shard2of2.bin", data[half:])])


def keras_tensor(source):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, 8], "dtype": "float32", "keras_history": [source, 0, 0]}}


def keras3_functional():
    specs, data = weight_entries([
        ("dense/kernel", "dense/bias"),
        ("dense_1/kernel", "dense_1/bias"),
        ("functional/dense_2/kernel", "functional/dense_2/bias"),
    ])
    layers = [dict(input_layer(), name="input_layer", inbound_nodes=[])]
    previous = "input_layer"
    for layer, _, _ in LAYERS:
        name = layer["config"]["name"]
        layers.append(dict(layer, name=name,
                           inbound_nodes=[{"args": [keras_tensor(previous)], "kwargs": {}}]))
        previous = name
    model = {
        "format": "layers-model",
        "generatedBy": "keras v3.5.0",
        "convertedBy": None,
        "modelTopology": {
            "module": "keras.src.models.functional", "class_name": "Functional",
            "config": {"name": "functional", "trainable": True, "layers": layers,
                       "input_layers": ["input_layer", 0, 0],
                       "output_layers": ["dense_2", 0, 0]},
            "registered_name": "Functional",
        },
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": specs}],
    }
    write("keras3_functional", model, [("group1-shard1of1.bin", data)])


if __name__ == "__main__":
    keras3_sequential()
    keras3_functional()
