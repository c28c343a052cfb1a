/* Extracted from docs/migration.md (code block 7) by tests/install/extract-doc-samples.sh: edit the doc, not this file. */
using System;
using Aoai;

public static class EmbeddingsMigration
{
    // embeddings.embed_documents(["first text", "second text"])
    public static void EmbedDocuments(AoaiClient client)
    {
        using (var request = new EmbeddingRequest("first text", "second text"))
        {
            request.Deployment = "text-embedding-3-small";
            EmbeddingResponse response = client.Embed(request);
            foreach (float[] vector in response.Vectors) Console.WriteLine("{0} floats", vector.Length);
        }
    }
}
