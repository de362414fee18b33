import { tracedDeliveryTest } from './traced-delivery.js';

tracedDeliveryTest('http/json');
