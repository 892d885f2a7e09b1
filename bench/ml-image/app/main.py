"""Tiny app for the benchmark image: embed a few sentences with sentence-transformers."""
import sys


def embed(sentences):
    # imported here so that `python main.py --help` stays fast
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
    return model.encode(sentences)


def main(argv):
    if argv[1:2] == ["--help"]:
        print("usage: python main.py [SENTENCE...]")
        return 0
    sentences = argv[1:] or ["slim analyses container images.", "This image is far too big."]
    for sentence, vector in zip(sentences, embed(sentences)):
        print(f"{len(vector)}-d embedding: {sentence}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
