"""Tables larger than memory and clusters: a dataset partitioned by a hash of the
offender id (:func:`partition`), measured part by part with bounded memory, in this
process or on a Dask cluster (:func:`measure_partitioned`, ``client=``), or prepared
part by part once and measured for many specs (:func:`prepare_partitioned`); the result
is the whole tables' (docs/data.md, "Larger than memory and clusters")."""

from pbr.scale.measure import PartResult, measure_part, measure_partitioned
from pbr.scale.partition import PartitionedData, bucket_of, partition
from pbr.scale.prepare import PartitionedHistories, prepare_partitioned

__all__ = ["PartResult", "PartitionedData", "PartitionedHistories", "bucket_of", "measure_part",
           "measure_partitioned", "partition", "prepare_partitioned"]
