using System.Text.Json;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Facebook Pages: <c>POST /{version}/{page-id}/feed</c> with <c>message</c> and <c>link</c>. Graph error codes
/// decide: throttling (4, 17, 32, 341, 613, and the Business Use Case codes 80000-80014 a page token meets) waits
/// for the window the usage headers give, a policy block (368) waits and retries, a bad token (190, 102) or
/// missing permission (10, 200-299) stops, a duplicate (506) is already posted. Graph has no idempotency key:
/// a 5xx or a lost answer is unconfirmed, never resent.
/// </summary>
internal sealed class FacebookAdapter(IHttpClientFactory clients) : IShareAdapter
{
    /// <summary>The newest Graph version when this was written (v26.0, 29 July 2026; v21.0 ends 21 January 2027).</summary>
    public const string DefaultVersion = "v26.0";

    private const int MaxMessage = 63206;

    // Business Use Case limits, which page tokens are under: 80001 for Pages, the others for the other products.
    private const int BusinessUseCaseFirst = 80000;
    private const int BusinessUseCaseLast = 80014;

    /// <summary>Graph gives no duration for a policy block (368).</summary>
    private static readonly TimeSpan PolicyBlockWait = TimeSpan.FromMinutes(30);

    /// <summary>Throttled without usage headers: page limits are counted over hours, not a minute.</summary>
    private static readonly TimeSpan ThrottleWait = TimeSpan.FromMinutes(15);

    public string Network => Networks.Facebook;

    public AfterUnknown AfterUnknown => AfterUnknown.Unconfirmed;

    public Task<ComposedPost> ComposeAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var message = ShareText.Fit(request.Text.Trim(), MaxMessage, s => s.Length);
        return Task.FromResult(ComposedPost.Fits(message, message.Length, MaxMessage));
    }

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var version = request.Account.ApiVersion ?? DefaultVersion;
        using var message = new HttpRequestMessage(HttpMethod.Post, request.Endpoint(Network, $"/{version}/{Uri.EscapeDataString(request.Account.AccountId!)}/feed"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["message"] = (await ComposeAsync(request, cancellationToken)).Text,
                ["link"] = request.Link,
                ["access_token"] = request.Account.AccessToken!,
            }),
        };
        return await HttpOutcomes.ExchangeAsync(http, message, (response, body) =>
        {
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                var id = json.RootElement.GetProperty("id").GetString()!;
                return PostOutcome.Posted(id, $"https://www.facebook.com/{id}");
            }

            var (code, text) = GraphErrors.Read(body);
            var reason = $"Graph error {code}: {text}";
            return code switch
            {
                _ when GraphErrors.IsThrottling(code) || code is >= BusinessUseCaseFirst and <= BusinessUseCaseLast => PostOutcome.RateLimited(reason, ThrottledFor(response) ?? HttpOutcomes.RetryAfter(response) ?? ThrottleWait),
                368 => PostOutcome.RateLimited($"{reason} (the page is temporarily blocked: waiting before trying again)", PolicyBlockWait),
                190 or 102 or 10 or (>= 200 and <= 299) => PostOutcome.Auth(reason),
                506 => new PostOutcome(OutcomeKind.AlreadyPosted, reason),
                _ when (int)response.StatusCode >= 500 || code is 1 or 2 => PostOutcome.Unknown(reason),
                _ => PostOutcome.Rejected(reason),
            };
        }, cancellationToken);
    }

    /// <summary>
    /// The longest <c>estimated_time_to_regain_access</c> (minutes) in the usage headers: business use case
    /// (page tokens) as <c>{"id":[{...}]}</c>, page and app usage as one object.
    /// </summary>
    internal static TimeSpan? ThrottledFor(HttpResponseMessage response)
    {
        double? minutes = null;
        foreach (var header in new[] { "X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage" })
        {
            if (!response.Headers.TryGetValues(header, out var values))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(values.First());
                foreach (var usage in Usages(json.RootElement))
                {
                    if (usage.TryGetProperty("estimated_time_to_regain_access", out var wait) && wait.TryGetDouble(out var value))
                    {
                        minutes = Math.Max(minutes ?? 0, value);
                    }
                }
            }
            catch (JsonException)
            {
            }
        }

        return minutes is { } m && m > 0 ? TimeSpan.FromMinutes(m) : null;
    }

    private static IEnumerable<JsonElement> Usages(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        yield return root;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in property.Value.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object))
                {
                    yield return item;
                }
            }
        }
    }
}
