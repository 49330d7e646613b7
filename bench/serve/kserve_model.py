"""KServe's Python model server as its docs set up a custom model: a `kserve.Model` subclass that
loads in `load()` and answers Open Inference Protocol v2 requests in `predict(InferRequest)`,
started with `ModelServer().start([model])`. Runs in KServe's own venv:
`python kserve_model.py --model_name NAME --model_path FILE --http_port PORT`.
"""

from __future__ import annotations

import argparse

from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server  # type: ignore[import-not-found]  # the peer's venv, copied beside
from onnx_feeds import feeds, open_session  # type: ignore[import-not-found]  # the peer's venv, copied beside


class OnnxModel(Model):  # type: ignore[misc]  # kserve lives only in the bench's own venv
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        self.session = open_session(self.path)
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers: dict[str, str] | None = None,
                response_headers: dict[str, str] | None = None) -> InferResponse:
        tensors = {i.name: i.as_numpy() for i in payload.inputs}
        probabilities = self.session.run(["probabilities"], feeds(self.session, tensors))[0]
        output = InferOutput(name="probabilities", shape=list(probabilities.shape),
                             datatype="FP32", data=probabilities)
        return InferResponse(response_id=payload.id or "", model_name=self.name,
                             infer_outputs=[output])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    ModelServer().start([OnnxModel(args.model_name, args.model_path)])
