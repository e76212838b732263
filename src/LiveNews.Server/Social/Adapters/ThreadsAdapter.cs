using System.Text.Json;
using System.Text.RegularExpressions;

namespace LiveNews.Server.Social.Adapters;

/// <summary>
/// Threads: create a text container, then publish it (500 characters, at most 5 links). The container id is
/// kept on the job, so a retry publishes the same container instead of creating another.
/// </summary>
internal sealed partial class ThreadsAdapter(IHttpClientFactory clients) : IShareAdapter
{
    private const int MaxCharacters = 500;
    private const int MaxLinks = 5;

    public string Network => Networks.Threads;

    public bool RetryAfterUnknownIsSafe => false;

    public async Task<PostOutcome> PostAsync(ShareRequest request, CancellationToken cancellationToken)
    {
        var text = ShareText.WithLink(request.Text, request.Link, MaxCharacters, s => s.Length);
        if (LinkPattern().Count(text) > MaxLinks)
        {
            return PostOutcome.Rejected($"Threads allows at most {MaxLinks} links in a post.");
        }

        var http = clients.CreateClient(SocialServiceCollectionExtensions.HttpClientName);
        var user = Uri.EscapeDataString(request.Account.AccountId!);
        var container = request.Job.Checkpoint;
        if (container is null)
        {
            var created = await CallAsync(http, request.Endpoint(Network, $"/v1.0/{user}/threads"), new()
            {
                ["media_type"] = "TEXT",
                ["text"] = text,
                ["access_token"] = request.Account.AccessToken!,
            }, cancellationToken);
            if (created.Id is null)
            {
                // A container is invisible until published: creating another one is harmless.
                return created.Failure!.Kind == OutcomeKind.Unknown ? PostOutcome.Transient(created.Failure.Reason!) : created.Failure;
            }

            container = created.Id;
        }

        var published = await CallAsync(http, request.Endpoint(Network, $"/v1.0/{user}/threads_publish"), new()
        {
            ["creation_id"] = container,
            ["access_token"] = request.Account.AccessToken!,
        }, cancellationToken);
        return published.Id is not null
            ? PostOutcome.Posted(published.Id, null)
            : published.Failure! with { Checkpoint = container };
    }

    private static async Task<(string? Id, PostOutcome? Failure)> CallAsync(HttpClient http, Uri endpoint, Dictionary<string, string> form, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new FormUrlEncodedContent(form) };
        var (response, failure) = await HttpOutcomes.SendAsync(http, message, cancellationToken);
        if (failure is not null)
        {
            return (null, failure);
        }

        using (response)
        {
            var body = await response!.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(body);
                return (json.RootElement.GetProperty("id").GetString(), null);
            }

            return (null, body.Contains("\"code\":190", StringComparison.Ordinal) ? PostOutcome.Auth($"{(int)response.StatusCode} {HttpOutcomes.Clip(body)}") : HttpOutcomes.FromStatus(response, body));
        }
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex LinkPattern();
}
