using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Mastodon: <c>POST /api/v1/statuses</c> with an <c>Idempotency-Key</c> derived from the job, so a retry
/// after an unknown outcome returns the first status. Length limits come from the instance.
/// </summary>
internal sealed class MastodonAdapter(IHttpClientFactory clients, TimeProvider time) : IShareAdapter
{
    private readonly ConcurrentDictionary<string, (int MaxCharacters, int UrlCost)> _limits = new(StringComparer.Ordinal);

    public string Network => Networks.Mastodon;

    public bool RetryAfterUnknownIsSafe => true;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var (max, urlCost) = await LimitsAsync(http, request, cancellationToken);
        var status = ShareText.WithLink(request.Text, request.Link, max, s => s.Length, urlCost);

        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, "/api/v1/statuses"))
        {
            Content = JsonContent.Create(new { status, visibility = "public" }),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", request.Account.AccessToken);
        message.Headers.Add("Idempotency-Key", request.Job.IdempotencyKey);
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return PostOutcome.Posted(json.RootElement.GetProperty("id").GetString()!, json.RootElement.TryGetProperty("url", out var url) ? url.GetString() : null);
            }

            return (int)response.StatusCode == 422
                ? PostOutcome.Rejected($"422 {HttpOutcomes.Clip(body)}")
                : HttpOutcomes.FromStatus(response, body, HttpOutcomes.UntilReset(response, "X-RateLimit-Reset", time.GetUtcNow()));
        }, cancellationToken);
    }

    private async Task<(int, int)> LimitsAsync(HttpClient http, ShareRequest request, CancellationToken cancellationToken)
    {
        if (_limits.TryGetValue(request.Account.Name, out var known))
        {
            return known;
        }

        var limits = (500, 23);
        try
        {
            using var response = await http.GetAsync(request.Endpoint(Network, "/api/v2/instance"), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                var statuses = json.RootElement.GetProperty("configuration").GetProperty("statuses");
                limits = (statuses.GetProperty("max_characters").GetInt32(), statuses.GetProperty("characters_reserved_per_url").GetInt32());
                _limits[request.Account.Name] = limits;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // The documented defaults are safe; ask again next time.
        }

        return limits;
    }
}
