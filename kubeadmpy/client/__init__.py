"""kubeadmpy.client: the async Kubernetes client every component and API phase uses.

`Client` (REST), `Informer`/`SharedInformerFactory` (list-watch caches), `WorkQueue`,
`LeaderElector` and the `Controller` engine, plus kubeconfig / in-cluster loading. Only upstream
wire behaviour is relied on, so it works against kubeadmpy's API server and upstream's alike.
"""

from kubeadmpy.client import errors
from kubeadmpy.client.cache import Store, object_key, pods_by_node_name, split_key
from kubeadmpy.client.clock import Clock, FakeClock, RealClock
from kubeadmpy.client.component import ComponentSettings, RunningComponent, run_component
from kubeadmpy.client.config import (
    ClientConfig,
    TokenSource,
    load_config,
    load_incluster_config,
    load_kubeconfig,
    parse_kubeconfig,
)
from kubeadmpy.client.controller import (
    Controller,
    ReconcileIdFilter,
    Request,
    Result,
    TerminalError,
    owner_requests,
    reconcile_id,
)
from kubeadmpy.client.informer import (
    EventHandler,
    Informer,
    InformerOptions,
    SharedInformerFactory,
)
from kubeadmpy.client.leaderelection import (
    LeaderElectionConfig,
    LeaderElectionSettings,
    LeaderElector,
    leader_election_flags,
    leader_election_settings,
)
from kubeadmpy.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    TokenBucket,
    default_controller_rate_limiter,
)
from kubeadmpy.client.resources import ResourceInfo
from kubeadmpy.client.rest import Client, ObjectList, PatchType, Preconditions, delete_options
from kubeadmpy.client.watch import WatchEvent, WatchStream
from kubeadmpy.client.workqueue import ShutDown, WorkQueue

__all__ = [
    "BucketRateLimiter", "Client", "ClientConfig", "Clock", "ComponentSettings", "Controller",
    "EventHandler", "FakeClock", "Informer", "InformerOptions",
    "ItemExponentialFailureRateLimiter", "LeaderElectionConfig", "LeaderElectionSettings",
    "LeaderElector", "MaxOfRateLimiter", "ObjectList", "PatchType", "Preconditions",
    "RealClock", "ReconcileIdFilter", "Request", "ResourceInfo", "Result", "RunningComponent",
    "SharedInformerFactory", "ShutDown", "Store", "TerminalError", "TokenBucket", "TokenSource",
    "WatchEvent", "WatchStream", "WorkQueue", "default_controller_rate_limiter",
    "delete_options", "errors", "leader_election_flags", "leader_election_settings",
    "load_config", "load_incluster_config", "load_kubeconfig", "object_key", "owner_requests",
    "parse_kubeconfig", "pods_by_node_name", "reconcile_id", "run_component", "split_key",
]
