Feature: Callbacks
  When a transaction ends (accepted, denied or expired), the server POSTs
  {"callback_uri", "transaction_id"} to the transaction's callback_uri, and retries a failed
  delivery. In these scenarios the portal's callback receiver answers as the scenario says and
  records every delivery attempt; the server's event log (test-control API) shows when each
  attempt started and, with the status it got (0 when it got none), when it ended.

  Time moves only through the server's clock, never by waiting: the backoff before a retry and
  the timeout of an unanswered attempt are server-clock time, and a clock move starts every
  attempt it makes due, and ends every attempt it times out, before it answers. So right after a
  move the event log holds every attempt that will start until the next one, which is what the
  checks that no further attempt comes rely on.

  Background:
    Given "Alice" has enrolled the device "phone"
    And the server's clock stands still

  Scenario Outline: When a transaction ends, the server posts its id to the callback_uri as JSON: <end>
    Given the portal's callback receiver answers every callback with 204
    And the portal has started a QR-code OTP with the callback path "/callback?order=42"
    When <end>
    Then the portal's receiver gets a POST of Content-Type application/json with the body {"callback_uri", "transaction_id"} for the transaction

    @CB-001 @must
    Examples:
      | end                             |
      | "phone" accepts the portal's OTP |
      | "phone" denies the portal's OTP  |
      | the portal's OTP expires         |

  @CB-002 @must
  Scenario: No callback while a transaction is pending or after a refused answer, and one series of attempts when it ends
    Given the portal's callback receiver answers 500, then 204
    And the portal has started a QR-code OTP
    When "phone" scans the QR code and handles the OTP
    And "phone" answers "accept" signed with another key
    Then the request is refused with status 403, error 10019 INVALID_SIGNATURE
    When the server's clock moves on by 60000 ms
    Then the server has started no delivery attempt for the transaction
    When "phone" answers "accept" signed with its current key
    Then the answer is "accepted"
    And the server has ended 1 delivery attempt for the transaction
    When the server's clock moves on by 200 ms
    Then the portal's receiver gets 2 delivery attempts for the transaction
    And the server's event log shows the callback attempts of the transaction with the statuses "500, 204"
    When the server's clock moves on by 60000 ms
    Then the server has started 2 delivery attempts for the transaction
    And the portal's receiver gets 2 delivery attempts for the transaction

  @CB-003 @must
  Scenario: The device's answer does not wait for the callback, whose final status is already stored
    Given the portal's callback receiver holds every callback until it is let go
    And the portal has started a QR-code OTP
    When "phone" scans the QR code and handles the OTP
    And "phone" accepts
    Then the answer is "accepted"
    And the portal's receiver is holding a callback for the transaction
    And the transaction is accepted for "Alice"
    When the portal's receiver lets the held callback go with 204
    Then the server's event log shows the callback attempts of the transaction with the statuses "204"

  @CB-004 @must
  Scenario: The expiry callback starts with the clock move that passes the time to live, without any further request
    Given the portal has started a QR-code OTP
    When the server's clock moves to 1 ms before the OTP expires
    Then the server has started no delivery attempt for the transaction
    When the server's clock moves on by 1 ms
    Then the server has started 1 delivery attempt for the transaction
    And the portal receives a callback for the transaction
    And the transaction is expired

  Scenario Outline: A delivery attempt succeeds only on a 2xx status: the receiver <first>
    Given the server's callback_retries is 1
    And the portal's callback receiver <first>, then answers 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    Then the portal's receiver gets 1 delivery attempt for the transaction
    And the server has ended 1 delivery attempt for the transaction
    When the server's clock moves on by 200 ms
    Then the portal's receiver gets <attempts> delivery attempts for the transaction
    When the server's clock moves on by 60000 ms
    Then the server has started <attempts> delivery attempts for the transaction
    And the server's event log shows the callback attempts of the transaction with the statuses "<statuses>"
    And the portal's receiver gets <attempts> delivery attempts for the transaction
    And the portal's receiver was never asked for its redirect location
    And the transaction is accepted for "Alice"

    @CB-005 @must
    Examples: a 2xx status is a success
      | first        | attempts | statuses |
      | answers 200  | 1        | 200      |
      | answers 202  | 1        | 202      |
      | answers 299  | 1        | 299      |

    @CB-005 @must
    Examples: any other status or a broken connection is a failure
      | first                                        | attempts | statuses |
      | answers 302 with a Location on itself         | 2        | 302, 204 |
      | answers 307 with a Location on itself         | 2        | 307, 204 |
      | answers 404                                  | 2        | 404, 204 |
      | answers 500                                  | 2        | 500, 204 |
      | closes the connection without answering      | 2        | 0, 204   |

  @CB-005 @must
  Scenario: An attempt the receiver does not answer fails once the server's clock has moved 5 seconds past its start
    Given the server's callback_retries is 1
    And the portal's callback receiver does not answer, then answers 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    Then the portal's receiver gets 1 delivery attempt for the transaction
    When the server's clock moves on by 4999 ms
    Then the server has ended no delivery attempt for the transaction
    When the server's clock moves on by 1 ms
    Then the server has ended 1 delivery attempt for the transaction
    And the server has started 1 delivery attempt for the transaction
    When the server's clock moves on by 200 ms
    Then the portal's receiver gets 2 delivery attempts for the transaction
    And the server's event log shows the callback attempts of the transaction with the statuses "0, 204"
    And the transaction is accepted for "Alice"

  @CB-005 @must
  Scenario: A refused connection is a failed attempt
    Given the server's callback_retries is 1
    And the portal has started a QR-code OTP with a callback_uri where nothing listens
    When "phone" accepts the portal's OTP
    Then the server has ended 1 delivery attempt for the transaction
    When the server's clock moves on by 200 ms
    Then the server's event log shows the callback attempts of the transaction with the statuses "0, 0"
    When the server's clock moves on by 60000 ms
    Then the server has started 2 delivery attempts for the transaction
    And the transaction is accepted for "Alice"

  Scenario Outline: A failed delivery is retried callback_retries times: <retries>
    Given the server's callback_retries is <retries>
    And the portal's callback receiver answers 500 to every callback
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    And the server's clock moves on by 60000 ms after each delivery attempt, until no further attempt starts
    Then the server has started <attempts> delivery attempts for the transaction
    And the server's event log shows the callback attempts of the transaction with the statuses "<statuses>"
    And the portal's receiver gets <attempts> delivery attempts for the transaction
    And the transaction is accepted for "Alice"

    @CB-006 @must
    Examples:
      | retries     | attempts | statuses           |
      | 0           | 1        | 500                |
      | 1           | 2        | 500, 500           |
      | its default | 4        | 500, 500, 500, 500 |

  @CB-007 @should
  Scenario: Retries are due 200 ms, 400 ms and 800 ms of the server's clock after the attempt before them ended
    Given the portal's callback receiver answers 500, 500, 500, then 204
    And the portal has started a QR-code OTP
    When "phone" accepts the portal's OTP
    Then the server has ended 1 delivery attempt for the transaction
    When the server's clock moves on by 199 ms
    Then the server has started 1 delivery attempt for the transaction
    When the server's clock moves on by 1 ms
    Then the server has started 2 delivery attempts for the transaction
    And the server has ended 2 delivery attempts for the transaction
    When the server's clock moves on by 399 ms
    Then the server has started 2 delivery attempts for the transaction
    When the server's clock moves on by 1 ms
    Then the server has started 3 delivery attempts for the transaction
    And the server has ended 3 delivery attempts for the transaction
    When the server's clock moves on by 799 ms
    Then the server has started 3 delivery attempts for the transaction
    When the server's clock moves on by 1 ms
    Then the server has started 4 delivery attempts for the transaction
    And the portal's receiver gets 4 delivery attempts for the transaction
    And the server's event log shows the callback attempts of the transaction with the statuses "500, 500, 500, 204"
    And each retry started 200 ms, 400 ms and 800 ms of the server's clock after the attempt before it ended
