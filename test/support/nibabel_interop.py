#!/usr/bin/env python3
"""Reads and writes NIfTI (nibabel) and HDF5 (h5py) files for tracoco's interoperability test.

  describe-nifti FILE        -> JSON {shape, dtype, affine, qform, sform_code, qform_code, zooms, units, data}
  write-nifti SPEC.json OUT  <- {shape, dtype, affine, data, qform_only?}
  describe-h5 FILE           -> JSON {name: {shape, dtype, compression, data}}
  write-h5 SPEC.json OUT     <- {name: {shape, dtype, data}}

`data` is always the array flattened in C order (numpy's default), tracoco's row-major order.
"""
import json
import sys

import numpy as np


def describe_nifti(path):
    import nibabel as nib

    img = nib.load(path)
    hdr = img.header
    stored = np.asanyarray(img.dataobj)
    return {
        "shape": list(img.shape),
        "dtype": str(hdr.get_data_dtype()),
        "affine": img.affine.tolist(),
        "qform": img.get_qform().tolist(),
        "sform_code": int(hdr["sform_code"]),
        "qform_code": int(hdr["qform_code"]),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "units": list(hdr.get_xyzt_units()),
        "data": stored.ravel(order="C").tolist(),
    }


def write_nifti(spec, out):
    import nibabel as nib

    data = np.asarray(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"], order="C")
    affine = np.asarray(spec["affine"], dtype=np.float64)
    img = nib.Nifti1Image(data, affine)
    img.header.set_data_dtype(spec["dtype"])
    if spec.get("qform_only"):
        img.set_qform(affine, code=1)
        img.set_sform(None, code=0)
    nib.save(img, out)


def describe_h5(path):
    import h5py

    with h5py.File(path, "r") as f:
        return {
            name: {
                "shape": list(ds.shape),
                "dtype": str(ds.dtype),
                "compression": ds.compression,
                "data": ds[()].ravel(order="C").tolist(),
            }
            for name, ds in f.items()
        }


def write_h5(spec, out):
    import h5py

    with h5py.File(out, "w") as f:
        for name, d in spec.items():
            arr = np.asarray(d["data"], dtype=d["dtype"]).reshape(d["shape"], order="C")
            f.create_dataset(name, data=arr, compression="gzip")


def main(argv):
    command = argv[1]
    if command == "describe-nifti":
        print(json.dumps(describe_nifti(argv[2])))
    elif command == "describe-h5":
        print(json.dumps(describe_h5(argv[2])))
    elif command in ("write-nifti", "write-h5"):
        with open(argv[2]) as f:
            spec = json.load(f)
        (write_nifti if command == "write-nifti" else write_h5)(spec, argv[3])
    else:
        raise SystemExit("unknown command " + command)


if __name__ == "__main__":
    main(sys.argv)
