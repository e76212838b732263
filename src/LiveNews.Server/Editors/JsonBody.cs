using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace LiveNews.Server.Editors;

/// <summary>
/// Reads an editor request body strictly: JSON only, bounded in size and depth, no unknown fields. A body
/// that fails gets a problem naming the field, before anything is published.
/// </summary>
internal sealed class JsonBody(IOptions<EditorApiOptions> options)
{
    private static JsonSerializerOptions Serializer => Bus.LiveNewsJson.Requests;

    // Declared lengths up to this are read into an array of their size before the bytes arrive.
    private const int ExactUpTo = 16 * 1024;

    public async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        var limit = options.Value.MaxRequestBodyBytes;
        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", detail: "Send the body as application/json."));
        }

        if (await ReadBoundedAsync(request, limit) is not { } body)
        {
            return (null, TooLarge(limit));
        }

        try
        {
            var value = JsonSerializer.Deserialize<T>(body.Span, Serializer);
            return value is null
                ? (null, Invalid("body", "A JSON object is required."))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return (null, Invalid(field, Describe(ex)));
        }
    }

    /// <summary>The whole body, read no further than <paramref name="limit"/> bytes: null past it.</summary>
    /// <remarks>
    /// Allocates the body's size, once: a small declared length is read into an array of that size; a chunked or
    /// larger body into pooled buffers that grow with what arrives (a sender that declares much and sends little
    /// holds little), copied out at the end. An editor API call's body is a few hundred bytes.
    /// </remarks>
    public static async Task<ReadOnlyMemory<byte>?> ReadBoundedAsync(HttpRequest request, int limit)
    {
        var aborted = request.HttpContext.RequestAborted;
        if (request.ContentLength > limit)
        {
            return null;
        }

        if (request.ContentLength is { } length and <= ExactUpTo)
        {
            var body = new byte[length];
            var filled = await request.Body.ReadAtLeastAsync(body, body.Length, throwOnEndOfStream: false, aborted);
            return filled == body.Length ? body : throw new BadHttpRequestException("The request body ended before its Content-Length.");
        }

        var pool = System.Buffers.ArrayPool<byte>.Shared;
        var buffer = pool.Rent(4096);
        try
        {
            var read = 0;
            while (true)
            {
                if (read == buffer.Length)
                {
                    var larger = pool.Rent(Math.Min(buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, read).CopyTo(larger);
                    pool.Return(buffer, clearArray: true);
                    buffer = larger;
                }

                var chunk = await request.Body.ReadAsync(buffer.AsMemory(read), aborted);
                if (chunk == 0)
                {
                    return buffer.AsSpan(0, read).ToArray();
                }

                read += chunk;
                if (read > limit)
                {
                    return null;
                }
            }
        }
        finally
        {
            // Cleared: bodies hold what a client sent (a push subscription's keys, an embargoed text).
            pool.Return(buffer, clearArray: true);
        }
    }

    public static IResult Invalid(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });

    public static IResult TooLarge(int limit) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large", detail: $"The body must be at most {limit} bytes.");

    // The serializer's messages name .NET types; say what the client sent wrong instead.
    private static string Describe(JsonException ex) => ex.Message switch
    {
        var m when m.Contains("could not be mapped", StringComparison.Ordinal) => "Unknown field.",
        var m when m.Contains("maximum configured depth", StringComparison.Ordinal) => "The JSON is nested too deeply.",
        var m when m.Contains("could not be converted", StringComparison.Ordinal) => "The value has the wrong type.",
        _ => "The body is not valid JSON.",
    };
}
