"""MLServer's documented way to serve a framework it has no runtime for (ONNX): a custom runtime,
an `MLModel` subclass with `load` and `predict`, named in model-settings.json. Runs in MLServer's
own venv; `predict` decodes each V2 input with MLServer's NumpyCodec, runs the session and encodes
the scores with the same codec, no more.
"""

from __future__ import annotations

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from onnx_feeds import feeds, open_session  # type: ignore[import-not-found]  # the peer's venv, copied beside


class OnnxModel(MLModel):  # type: ignore[misc]  # mlserver lives only in the bench's own venv
    async def load(self) -> bool:
        self.session = open_session(self.settings.parameters.uri)
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        tensors = {i.name: NumpyCodec.decode_input(i) for i in payload.inputs}
        probabilities = self.session.run(["probabilities"], feeds(self.session, tensors))[0]
        return InferenceResponse(model_name=self.name, outputs=[
            NumpyCodec.encode_output("probabilities", probabilities)])
